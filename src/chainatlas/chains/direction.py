"""The one model of direction along a chain: who is upstream (上游) of whom.

Every reason that says 上游, 下游, 配套 or 延伸 asks this model, so that no two reasons can
disagree and none can contradict the template. Direction comes from the template's supply
edges only (``chain_edges``: source supplies target), walked transitively: node A is
upstream of B when a path of edges leads from A (or a node below A) to B (or a node below
B). Product relations of listed firms never set a direction: a distributor also sells
raw materials, so product evidence once told 医药批发 that 化学制剂 was its 下游.

Nodes with paths both ways (a cycle in the template) and nodes no path connects have no
direction (:data:`NONE`): a reason may call them related, never up- or downstream.
A node and its own ancestors or descendants are the same segment, not a supply pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from chainatlas.store import Database
from chainatlas.store.lookup import Chain, NodeTree, as_chain

UPSTREAM, DOWNSTREAM, NONE = "upstream", "downstream", None
#: How a reason words each direction (of the OTHER node, seen from the node at hand).
WORDS_ZH = {UPSTREAM: "上游", DOWNSTREAM: "下游"}


@dataclass(frozen=True)
class Directions:
    """Transitive supply directions between a chain's nodes (see the module docs)."""

    tree: NodeTree
    #: leaf-level edges as (source, target)
    edges: frozenset[tuple[str, str]]
    _reach: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        succ: dict[str, set[str]] = {}
        for a, b in self.edges:
            succ.setdefault(a, set()).add(b)
        reach: dict[str, frozenset[str]] = {}
        for start in succ:
            seen: set[str] = set()
            stack = list(succ[start])
            while stack:
                node = stack.pop()
                if node not in seen:
                    seen.add(node)
                    stack.extend(succ.get(node, ()))
            reach[start] = frozenset(seen)
        object.__setattr__(self, "_reach", reach)

    def _span(self, node_id: str) -> tuple[str, ...]:
        return (node_id, *self.tree.descendants(node_id)) if node_id in self.tree else (
            node_id,)

    def feeds(self, a: str, b: str) -> bool:
        """Whether a path of supply edges leads from ``a`` (or below it) to ``b`` (or
        below it)."""
        targets = set(self._span(b))
        return any(targets & self._reach.get(x, frozenset()) for x in self._span(a))

    def same_segment(self, a: str, b: str) -> bool:
        """Whether one node is the other or lies below it."""
        if a == b:
            return True
        if a not in self.tree or b not in self.tree:
            return False
        return a in self.tree.ancestors(b) or b in self.tree.ancestors(a)

    def of(self, other: str, node: str) -> str | None:
        """Where ``other`` stands seen from ``node``: UPSTREAM (it supplies ``node``),
        DOWNSTREAM (``node`` supplies it) or NONE (no path, paths both ways, or the same
        segment)."""
        if self.same_segment(other, node):
            return NONE
        up, down = self.feeds(other, node), self.feeds(node, other)
        if up == down:
            return NONE
        return UPSTREAM if up else DOWNSTREAM

    def neighbours(self, node: str, side: str) -> tuple[str, ...]:
        """Nodes with a direct template edge into (``upstream``) or out of
        (``downstream``) ``node`` or a node below it, sorted."""
        span = set(self._span(node))
        if side == UPSTREAM:
            found = {a for a, b in self.edges if b in span and a not in span}
        elif side == DOWNSTREAM:
            found = {b for a, b in self.edges if a in span and b not in span}
        else:
            raise ValueError(f"side must be {UPSTREAM!r} or {DOWNSTREAM!r}, not {side!r}")
        return tuple(sorted(n for n in found if self.of(n, node) == side))


def directions_from_edges(parents: Mapping[str, str | None],
                          edges: Iterable[tuple[str, str]]) -> Directions:
    """Directions of a node tree (``id -> parent``) and its supply edges. Pure."""
    return Directions(NodeTree(parents), frozenset((str(a), str(b)) for a, b in edges))


def directions_from_store(db: Database, chain: Chain | str) -> Directions:
    """Directions of a stored chain (its nodes and ``chain_edges``)."""
    chain = as_chain(db, chain)
    edges = db.execute("SELECT source, target FROM chain_edges WHERE chain_id = ?",
                       [chain.chain_id]).fetchall()
    return directions_from_edges({n.node_id: n.parent for n in chain.nodes},
                                 [(str(a), str(b)) for a, b in edges])
