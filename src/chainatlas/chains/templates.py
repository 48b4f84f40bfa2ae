"""Industry-chain templates: loading and validating the YAML chain definitions.

A chain template describes one industry chain (产业链) as a tree of nodes (环节) of at
most three levels, each placed upstream, midstream or downstream (上游 / 中游 / 下游), plus
explicit supply edges between nodes. Every node carries the signals that place firms on
it: Chinese product keywords (with exclusion keywords against classic false positives),
``scope_keywords`` matched only in business scopes (how registrations word a business),
Shenwan 2021 industry codes and GB/T 4754-2017 four-digit class codes.

Five curated chains ship inside the package (``BUILTIN_DIR``). Users add chains, or
override a built-in one, by putting ``<id>.yaml`` files in their own folders; see
:func:`load_templates`.

Every problem in a file is collected and raised together as one
:class:`~chainatlas.errors.InputError`, so a user can fix a template in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainatlas.chains.yamlcheck import (
    Collector,
    Lines,
    check_list,
    check_slug,
    check_text,
    nonempty_str,
    read_yaml,
    type_name,
)
from chainatlas.errors import InputError, NotFoundError, Problem
from chainatlas.store.lookup import NodeTree

__all__ = [
    "BUILTIN_DIR",
    "MAX_DEPTH",
    "STAGES",
    "ChainTemplate",
    "Edge",
    "Node",
    "get_template",
    "load_template",
    "load_templates",
    "template_to_dict",
    "validate_codes",
]

#: Folder of the built-in chain templates (packaged with the wheel: it lives in src/).
BUILTIN_DIR: Path = Path(__file__).resolve().parent / "templates"

#: Allowed values of a node's ``stage``, in chain order.
STAGES: tuple[str, ...] = ("上游", "中游", "下游")

#: Allowed values of a node's ``kind``: what its firms do. ``production`` is the chain's own
#: business (making its goods; for a service chain such as 商贸物流, the service itself).
#: Only ``production`` nodes make a chain's leaders and its chain-wide 招商 targets; a
#: distributor, a pharmacy chain, a hospital or a telecom operator leads and is recommended
#: on its own node only (a city does not court 中国联通 to build its electronics chain).
#: Default ``production``.
KINDS: dict[str, str] = {"production": "生产制造", "trade": "批发流通", "retail": "零售",
                         "service": "服务", "operator": "运营"}

#: Deepest allowed node level (root nodes are level 1).
MAX_DEPTH = 3

_SHENWAN = re.compile(r"^[0-9]{6}$")
_GBT = re.compile(r"^[0-9]{4}$")

_TOP_FIELDS = ("id", "name_zh", "name_en", "description_zh", "nodes", "edges")
_NODE_FIELDS = ("id", "name_zh", "name_en", "stage", "kind", "parent", "keywords",
                "scope_keywords", "exclude", "shenwan", "gbt")
_EDGE_FIELDS = ("from", "to", "note_zh")
_LIST_FIELDS = ("keywords", "scope_keywords", "exclude", "shenwan", "gbt")


@dataclass(frozen=True)
class Node:
    """One link (环节) of a chain, with the signals that place firms on it."""

    id: str
    name_zh: str
    name_en: str
    stage: str
    parent: str | None = None
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    shenwan: tuple[str, ...] = ()
    gbt: tuple[str, ...] = ()
    #: Extra words matched in business scopes only, never in product names: how a
    #: registration phrases the business (计算机网络工程, 移动通信业务) differs from how a
    #: listed firm names its product lines.
    scope_keywords: tuple[str, ...] = ()
    #: Depth in the tree: 1 for a root node.
    level: int = 1
    #: Ids of the direct children, in file order.
    children: tuple[str, ...] = ()
    #: Line of the node in its YAML file (1-based), when known.
    line: int | None = field(default=None, compare=False)
    #: What its firms do (a key of :data:`KINDS`); inner nodes inherit nothing.
    kind: str = "production"

    @property
    def is_leaf(self) -> bool:
        """Whether the node has no children."""
        return not self.children


@dataclass(frozen=True)
class Edge:
    """A supply relation: the output of ``source`` is an input of ``target``."""

    source: str
    target: str
    note_zh: str | None = None
    #: Line of the edge in its YAML file (1-based), when known.
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ChainTemplate:
    """A validated industry chain: its node tree and supply edges."""

    id: str
    name_zh: str
    name_en: str
    description_zh: str | None
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    path: str
    _index: Mapping[str, Node] = field(init=False, repr=False, compare=False)
    #: The node tree (the project's one tree walk, :class:`~chainatlas.store.lookup.NodeTree`).
    tree: NodeTree = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n.id: n for n in self.nodes})
        object.__setattr__(self, "tree", NodeTree({n.id: n.parent for n in self.nodes}))

    def node(self, node_id: str) -> Node:
        """Return the node with this id; raise NotFoundError if the chain has none."""
        try:
            return self._index[node_id]
        except KeyError:
            raise NotFoundError(
                f"chain {self.id!r} has no node {node_id!r}") from None

    def leaves(self) -> tuple[Node, ...]:
        """Return the nodes without children, in file order."""
        return tuple(n for n in self.nodes if n.is_leaf)

    def roots(self) -> tuple[Node, ...]:
        """Return the top-level nodes (no parent), in file order."""
        return tuple(n for n in self.nodes if n.parent is None)

    def children(self, node_id: str) -> tuple[Node, ...]:
        """Return the direct children of a node, in file order."""
        return tuple(self._index[c] for c in self.tree.children(self.node(node_id).id))

    def ancestors(self, node_id: str) -> tuple[Node, ...]:
        """Return the ancestors of a node, nearest (its parent) first, root last."""
        return tuple(self._index[a] for a in self.tree.ancestors(self.node(node_id).id))

    def descendants(self, node_id: str) -> tuple[Node, ...]:
        """Return every node below a node (children, grandchildren), depth first."""
        return tuple(self._index[d] for d in self.tree.descendants(self.node(node_id).id))

    def nodes_at_stage(self, stage: str) -> tuple[Node, ...]:
        """Return the nodes of one stage (上游 / 中游 / 下游), in file order."""
        return tuple(n for n in self.nodes if n.stage == stage)


# --------------------------------------------------------------------------- parsing


@dataclass
class _RawNode:
    index: int
    id: str
    name_zh: str
    name_en: str
    stage: str
    parent: str | None
    keywords: tuple[str, ...]
    exclude: tuple[str, ...]
    shenwan: tuple[str, ...]
    gbt: tuple[str, ...]
    scope_keywords: tuple[str, ...]
    line: int | None
    kind: str
    #: False when a list field (keywords, codes) had problems: skip the no-signal check.
    lists_ok: bool


def _parse_node(out: Collector, raw: Any, i: int) -> _RawNode | None:
    """Check one node's fields; return it (even with field problems) when its id is usable,
    so that tree checks (parents, cycles, depth, leaves) still run on it."""
    path: tuple[str | int, ...] = ("nodes", i)
    if not isinstance(raw, dict):
        out.add(f"nodes[{i}]", f"each node must be a mapping, got {type_name(raw)}", *path)
        return None
    node_id = raw.get("id")
    label = f"nodes[{node_id}]" if nonempty_str(node_id) else f"nodes[{i}]"
    nid = check_text(out, raw, "id", f"{label}.id", path, required=True)
    id_ok = check_slug(out, nid, f"{label}.id", (*path, "id"))
    for key in sorted(set(raw) - set(_NODE_FIELDS), key=str):
        out.add(f"{label}.{key}", f"unknown field {key!r} (allowed: "
                                  f"{', '.join(_NODE_FIELDS)})", *path, str(key))
    name_zh = check_text(out, raw, "name_zh", f"{label}.name_zh", path, required=True)
    name_en = check_text(out, raw, "name_en", f"{label}.name_en", path, required=True)
    stage = check_text(out, raw, "stage", f"{label}.stage", path, required=True)
    if stage is not None and stage not in STAGES:
        out.add(f"{label}.stage", f"stage {stage!r} must be one of {', '.join(STAGES)}",
                *path, "stage")
    kind = check_text(out, raw, "kind", f"{label}.kind", path, required=False)
    if kind is not None and kind not in KINDS:
        out.add(f"{label}.kind", f"kind {kind!r} must be one of {', '.join(KINDS)}",
                *path, "kind")
    parent = check_text(out, raw, "parent", f"{label}.parent", path, required=False)
    before_lists = len(out.problems)
    lists = {key: check_list(out, raw, key, f"{label}.{key}", path) for key in _LIST_FIELDS}
    for j, kw in enumerate((*lists["keywords"], *lists["scope_keywords"])):
        if kw in lists["exclude"]:
            out.add(f"{label}.keywords", f"keyword {kw!r} is also listed in exclude",
                    *path, "keywords", j)
    for code in lists["shenwan"]:
        if not _SHENWAN.match(code):
            out.add(f"{label}.shenwan", f"Shenwan code {code!r} must be 6 digits",
                    *path, "shenwan")
    for code in lists["gbt"]:
        if not _GBT.match(code):
            out.add(f"{label}.gbt",
                    f"GB/T 4754 code {code!r} must be a 4-digit class code", *path, "gbt")
    lists_ok = len(out.problems) == before_lists
    if not id_ok or nid is None:
        return None
    return _RawNode(i, nid, name_zh or "", name_en or "", stage or "", parent,
                    lists["keywords"], lists["exclude"], lists["shenwan"], lists["gbt"],
                    lists["scope_keywords"], out.lines.of(*path), kind or "production",
                    lists_ok)


def _parse_tree(out: Collector, raw_nodes: list[Any]) -> list[Node] | None:
    """Validate node fields and the parent tree; return the nodes or None on problems."""
    before = len(out.problems)
    parsed = [_parse_node(out, raw, i) for i, raw in enumerate(raw_nodes)]
    by_id: dict[str, _RawNode] = {}
    for rn in parsed:
        if rn is None:
            continue
        if rn.id in by_id:
            out.add(f"nodes[{rn.id}].id", f"duplicate node id {rn.id!r} (first defined as "
                    f"nodes[{by_id[rn.id].index}])", "nodes", rn.index, "id")
            continue
        by_id[rn.id] = rn
    # every declared id, even of nodes with other problems, so one bad node does not
    # cascade into 'unknown parent' reports for its children
    declared = {str(r.get("id")) for r in raw_nodes if isinstance(r, dict) and r.get("id")}
    children: dict[str, list[str]] = {nid: [] for nid in by_id}
    for rn in by_id.values():
        if rn.parent is None:
            continue
        if rn.parent == rn.id:
            out.add(f"nodes[{rn.id}].parent", "a node cannot be its own parent "
                    "(parent cycle)", "nodes", rn.index, "parent")
        elif rn.parent not in declared:
            out.add(f"nodes[{rn.id}].parent", f"unknown parent {rn.parent!r}: no node has "
                    "this id", "nodes", rn.index, "parent")
        elif rn.parent in children:
            children[rn.parent].append(rn.id)
    levels: dict[str, int] = {}
    reported_cycles: set[frozenset[str]] = set()
    for rn in by_id.values():
        chain = [rn.id]
        cur = rn.parent
        cyclic = False
        while cur is not None and cur in by_id:
            if cur in chain:
                cyclic = True
                loop = chain[chain.index(cur):]
                key = frozenset(loop)
                # a self-parent is reported above; report each longer cycle once
                if len(loop) > 1 and key not in reported_cycles and rn.id in loop:
                    reported_cycles.add(key)
                    cycle = " -> ".join([*loop, cur])
                    out.add(f"nodes[{rn.id}].parent", f"parent cycle: {cycle}",
                            "nodes", rn.index, "parent")
                break
            chain.append(cur)
            cur = by_id[cur].parent
        if cyclic:
            continue
        levels[rn.id] = len(chain)
        if len(chain) > MAX_DEPTH:
            path = " > ".join(reversed(chain))
            out.add(f"nodes[{rn.id}].parent", f"node is at level {len(chain)} ({path}); "
                    f"chains allow at most {MAX_DEPTH} levels", "nodes", rn.index, "parent")
    declared_parents = {str(r.get("parent")) for r in raw_nodes
                        if isinstance(r, dict) and r.get("parent")}
    for rn in by_id.values():
        if rn.id not in declared_parents and rn.lists_ok \
                and not (rn.keywords or rn.scope_keywords or rn.shenwan or rn.gbt):
            out.add(f"nodes[{rn.id}]", "leaf node has no classification signal: give it "
                    "keywords, shenwan or gbt codes", "nodes", rn.index)
    if len(out.problems) > before or len(by_id) != len(raw_nodes):
        return None
    return [Node(id=rn.id, name_zh=rn.name_zh, name_en=rn.name_en, stage=rn.stage,
                 parent=rn.parent, keywords=rn.keywords, exclude=rn.exclude,
                 shenwan=rn.shenwan, gbt=rn.gbt, scope_keywords=rn.scope_keywords,
                 level=levels[rn.id],
                 children=tuple(children[rn.id]), line=rn.line, kind=rn.kind)
            for rn in parsed if rn is not None]


def _parse_edges(out: Collector, raw_edges: list[Any], node_ids: set[str] | None
                 ) -> list[Edge]:
    """Validate the edges; node_ids None means the nodes were broken (skip name checks)."""
    edges: list[Edge] = []
    seen: dict[tuple[str, str], int] = {}
    for i, raw in enumerate(raw_edges):
        path: tuple[str | int, ...] = ("edges", i)
        label = f"edges[{i}]"
        if not isinstance(raw, dict):
            out.add(label, f"each edge must be a mapping with 'from' and 'to', got "
                           f"{type_name(raw)}", *path)
            continue
        for key in sorted(set(raw) - set(_EDGE_FIELDS), key=str):
            out.add(f"{label}.{key}", f"unknown field {key!r} (allowed: "
                                      f"{', '.join(_EDGE_FIELDS)})", *path, str(key))
        source = check_text(out, raw, "from", f"{label}.from", path, required=True)
        target = check_text(out, raw, "to", f"{label}.to", path, required=True)
        note = check_text(out, raw, "note_zh", f"{label}.note_zh", path, required=False)
        bad = source is None or target is None
        for key, value in (("from", source), ("to", target)):
            if value is not None and node_ids is not None and value not in node_ids:
                out.add(f"{label}.{key}", f"unknown node {value!r}", *path, key)
                bad = True
        if source is not None and source == target:
            out.add(label, f"self-loop: edge from {source!r} to itself", *path)
            bad = True
        if source is not None and target is not None:
            pair = (source, target)
            if pair in seen:
                out.add(label, f"duplicate edge {source} -> {target} (same as "
                               f"edges[{seen[pair]}])", *path)
                bad = True
            else:
                seen[pair] = i
        if not bad and source is not None and target is not None:
            edges.append(Edge(source, target, note, out.lines.of(*path)))
    return edges


def load_template(path: Path | str) -> ChainTemplate:
    """Load and validate one chain template YAML file.

    Raises InputError carrying every problem found in the file (field paths such as
    ``nodes[bm_api].parent`` or ``edges[3].to``, with the YAML line where known).
    """
    p = Path(path)
    out = Collector(str(p), Lines(None))
    data = read_yaml(p, out)
    if data is None and out.problems:
        raise InputError(out.problems)
    if not isinstance(data, dict):
        what = "empty" if data is None else type_name(data)
        raise InputError([Problem(str(p), out.lines.of(), None,
                                  f"a chain template must be a YAML mapping, got {what}")])
    for key in sorted(set(data) - set(_TOP_FIELDS), key=str):
        out.add(str(key), f"unknown field {key!r} (allowed: {', '.join(_TOP_FIELDS)})",
                str(key))
    chain_id = check_text(out, data, "id", "id", (), required=True)
    if check_slug(out, chain_id, "id", ("id",)) and chain_id != p.stem:
        out.add("id", f"file name {p.name!r} does not match the chain id {chain_id!r} "
                      f"(name the file {chain_id}.yaml)", "id")
    name_zh = check_text(out, data, "name_zh", "name_zh", (), required=True)
    name_en = check_text(out, data, "name_en", "name_en", (), required=True)
    description = check_text(out, data, "description_zh", "description_zh", (),
                              required=False)
    raw_nodes = data.get("nodes")
    nodes: list[Node] | None = None
    if raw_nodes is None:
        out.add("nodes", "required field 'nodes' is missing")
    elif not isinstance(raw_nodes, list):
        out.add("nodes", f"must be a list of nodes, got {type_name(raw_nodes)}", "nodes")
    elif not raw_nodes:
        out.add("nodes", "must not be empty: a chain needs at least one node", "nodes")
    else:
        nodes = _parse_tree(out, raw_nodes)
    raw_edges = data.get("edges")
    edges: list[Edge] = []
    if raw_edges is not None and not isinstance(raw_edges, list):
        out.add("edges", f"must be a list of edges, got {type_name(raw_edges)}", "edges")
    elif raw_edges:
        known: set[str] | None
        if nodes is not None:
            known = {n.id for n in nodes}
        elif isinstance(raw_nodes, list):
            known = {str(r["id"]) for r in raw_nodes if isinstance(r, dict) and r.get("id")}
        else:
            known = None
        edges = _parse_edges(out, raw_edges, known)
    if out.problems or nodes is None or chain_id is None or name_zh is None \
            or name_en is None:
        raise InputError(out.problems or [Problem(str(p), None, None, "invalid template")])
    return ChainTemplate(id=chain_id, name_zh=name_zh, name_en=name_en,
                         description_zh=description, nodes=tuple(nodes),
                         edges=tuple(edges), path=str(p))


def validate_codes(template: ChainTemplate, shenwan_codes: AbstractSet[str],
                   gbt_codes: AbstractSet[str]) -> list[Problem]:
    """Check that every Shenwan and GB/T code of a template exists in the given code sets.

    The caller passes the code sets of its store (or reference files); returns one
    Problem per unknown code, empty when all codes exist.
    """
    problems: list[Problem] = []
    for n in template.nodes:
        for code in n.shenwan:
            if code not in shenwan_codes:
                problems.append(Problem(template.path, n.line, f"nodes[{n.id}].shenwan",
                                        f"Shenwan code {code!r} is not a known Shenwan "
                                        "2021 industry code"))
        for code in n.gbt:
            if code not in gbt_codes:
                problems.append(Problem(template.path, n.line, f"nodes[{n.id}].gbt",
                                        f"GB/T 4754 code {code!r} is not a known GB/T "
                                        "4754-2017 four-digit class"))
    return problems


def _template_files(folder: Path, problems: list[Problem]) -> list[Path]:
    if not folder.is_dir():
        problems.append(Problem(str(folder), None, None,
                                "template folder does not exist or is not a folder"))
        return []
    return sorted(f for f in folder.glob("*.yaml") if f.is_file())


def load_templates(extra_dirs: Sequence[Path] = ()) -> dict[str, ChainTemplate]:
    """Load the built-in chain templates, then every ``*.yaml`` in each extra folder.

    Folders are read in order (built-ins first), files in name order; a later template
    with the same id overrides an earlier one, which is how users replace a built-in
    chain. Returns the templates keyed and sorted by id. Problems from all files are
    collected and raised together as one InputError.
    """
    problems: list[Problem] = []
    result: dict[str, ChainTemplate] = {}
    for folder in (BUILTIN_DIR, *(Path(d) for d in extra_dirs)):
        for file in _template_files(folder, problems):
            try:
                t = load_template(file)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            result[t.id] = t
    if problems:
        raise InputError(problems)
    return dict(sorted(result.items()))


def get_template(chain_id: str, extra_dirs: Sequence[Path] = ()) -> ChainTemplate:
    """Return one chain (built-in or user-defined); raise NotFoundError if unknown."""
    templates = load_templates(extra_dirs)
    try:
        return templates[chain_id]
    except KeyError:
        known = ", ".join(templates) or "none"
        raise NotFoundError(f"unknown chain {chain_id!r} (known chains: {known})") from None


def _node_dict(n: Node) -> dict[str, Any]:
    return {
        "id": n.id, "name_zh": n.name_zh, "name_en": n.name_en, "stage": n.stage,
        "kind": n.kind, "parent": n.parent, "level": n.level, "children": list(n.children),
        "keywords": list(n.keywords), "scope_keywords": list(n.scope_keywords),
        "exclude": list(n.exclude), "shenwan": list(n.shenwan), "gbt": list(n.gbt),
    }


def template_to_dict(t: ChainTemplate) -> dict[str, Any]:
    """Return a JSON-able dict of a template (for ``chains show --json`` and the web app).

    Edges use the YAML keys ``from`` / ``to``; nodes carry their computed ``level`` and
    ``children``.
    """
    return {
        "id": t.id,
        "name_zh": t.name_zh,
        "name_en": t.name_en,
        "description_zh": t.description_zh,
        "path": t.path,
        "stages": list(STAGES),
        "nodes": [_node_dict(n) for n in t.nodes],
        "edges": [{"from": e.source, "to": e.target, "note_zh": e.note_zh} for e in t.edges],
    }

