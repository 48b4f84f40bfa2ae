"""Lookups low in the stack: regions, chains and firms from text, and stock codes.

Callers at the edge (CLI, API, web pages) resolve what a user typed once, into the typed
values :class:`Region` and :class:`Chain`, and pass those down; library functions also
accept the text itself (``Region | str``, ``Chain | str``) and resolve it with
:func:`as_region` / :func:`as_chain`, so ids and Chinese names work everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chainatlas.errors import NotFoundError
from chainatlas.store.query import UNIVERSES, compose, level_column, level_order, param

if TYPE_CHECKING:
    from chainatlas.store.database import Database


# --------------------------------------------------------------------------- stock codes

_EXCHANGES = {"SH": "SH", "SZ": "SZ", "BJ": "BJ", "SS": "SH"}


def normalise_stock_code(raw: str | None) -> str | None:
    """Return the canonical ``NNNNNN.XX`` code for ``000001``, ``000001.sz``, ``sz000001``.

    The exchange is taken from the suffix when present, else from the code's board:
    6xxxxx Shanghai, 0/2/3xxxxx Shenzhen, 4/8/9xxxxx Beijing (92xxxx too). None when
    the text holds no six-digit code.
    """
    if not raw:
        return None
    text = raw.strip().upper()
    match = re.search(r"(\d{6})", text)
    if not match:
        return None
    digits = match.group(1)
    letters = re.sub(r"[^A-Z]", "", text)
    exchange = _EXCHANGES.get(letters)
    if exchange is None:
        exchange = exchange_from_digits(digits)
    return f"{digits}.{exchange}"


def exchange_from_digits(digits: str) -> str:
    """Return the exchange of a six-digit A-share code by its board prefix."""
    if digits.startswith("6"):
        return "SH"
    if digits.startswith(("4", "8", "92")):
        return "BJ"
    return "SZ"


# --------------------------------------------------------------------------- trees


class NodeTree:
    """Parent/child walks over a node forest given as ``id -> parent`` in file order.

    The one tree walk of the project: stored chains (:class:`Chain`) and YAML templates
    (``chains.templates.ChainTemplate``) both answer ancestors and subtrees through it.
    """

    def __init__(self, parents: Mapping[str, str | None]) -> None:
        self._parents = dict(parents)
        self._children: dict[str, list[str]] = {k: [] for k in self._parents}
        for node, parent in self._parents.items():
            if parent is not None:
                self._children.setdefault(parent, []).append(node)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._parents

    def parent(self, node_id: str) -> str | None:
        """The node's parent id (None for a root)."""
        return self._parents[node_id]

    def children(self, node_id: str) -> tuple[str, ...]:
        """The direct children, in file order."""
        return tuple(self._children.get(node_id, ()))

    def ancestors(self, node_id: str) -> tuple[str, ...]:
        """The ancestors of a node, nearest (its parent) first, root last."""
        out: list[str] = []
        parent = self._parents[node_id]
        while parent is not None:
            out.append(parent)
            parent = self._parents[parent]
        return tuple(out)

    def descendants(self, node_id: str) -> tuple[str, ...]:
        """Every node below a node (children, grandchildren), depth first, file order."""
        out: list[str] = []
        stack = list(reversed(self._children.get(node_id, ())))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self._children.get(current, ())))
        return tuple(out)

    def subtree(self, node_id: str) -> tuple[str, ...]:
        """The node itself and every node below it."""
        return (node_id, *self.descendants(node_id))

    def root(self, node_id: str) -> str:
        """The top-level node above (or at) a node."""
        ancestors = self.ancestors(node_id)
        return ancestors[-1] if ancestors else node_id


# --------------------------------------------------------------------------- regions


@dataclass(frozen=True)
class Region:
    """An administrative division (province, city or district) from the region table."""

    adcode: str
    name: str
    level: str
    province_adcode: str
    parent: str | None = None
    lon: float | None = None
    lat: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Region:
        """Build from a ``regions`` row."""
        return cls(adcode=str(row["adcode"]), name=str(row["name"]), level=str(row["level"]),
                   province_adcode=str(row["province_adcode"]),
                   parent=None if row.get("parent") is None else str(row["parent"]),
                   lon=None if row.get("lon") is None else float(row["lon"]),
                   lat=None if row.get("lat") is None else float(row["lat"]))

    @property
    def column(self) -> str:
        """The firm column (province_adcode, city_adcode, region_adcode) it filters on."""
        return level_column(self.level)

    def summary(self) -> dict[str, str]:
        """The three fields outputs echo back: adcode, name, level."""
        return {"adcode": self.adcode, "name": self.name, "level": self.level}


def region_from_text(db: Database, text: str) -> Region:
    """Resolve a region by adcode (130100) or name (石家庄市, 石家庄, 河北省, 河北).

    An exact name wins over a prefix; among equals the higher level wins (北京市 is the
    province rather than its city-level twin). Raises NotFoundError with suggestions.
    """
    query = text.strip()
    if not query:
        raise NotFoundError("Name a region (e.g. 石家庄市 or 130100).")
    if query.isdigit():
        rows = db.rows("SELECT * FROM regions WHERE adcode = ?", [query.ljust(6, "0")[:6]])
    else:
        rows = db.rows(compose(
            "SELECT * FROM regions WHERE name = {q} OR name LIKE {q} || '%' "
            "ORDER BY name <> {q}, {order}, length(name), adcode",
            q=param(query), order=level_order()))
    if rows:
        return Region.from_row(rows[0])
    close = [r[0] for r in db.execute(
        "SELECT name FROM regions ORDER BY jaro_winkler_similarity(name, ?) DESC LIMIT 3",
        [query]).fetchall()]
    raise NotFoundError(f"No region named {query!r}. Did you mean: {', '.join(close)}?")


def province_from_text(db: Database, text: str) -> Region:
    """Resolve a province (or the province of any region named)."""
    region = region_from_text(db, text)
    if region.level == "province":
        return region
    return region_from_text(db, region.province_adcode)


def as_region(db: Database, region: Region | str) -> Region:
    """A :class:`Region` for a region or its name/adcode."""
    return region if isinstance(region, Region) else region_from_text(db, region)


# --------------------------------------------------------------------------- chains


@dataclass(frozen=True)
class ChainNode:
    """One stored node of a chain."""

    node_id: str
    name_zh: str
    name_en: str
    stage: str
    parent: str | None
    level: int
    is_leaf: bool
    ord: int
    #: what its firms do: production, trade, retail, service or operator
    kind: str = "production"


@dataclass(frozen=True)
class Chain:
    """A stored chain with its node tree (template order)."""

    chain_id: str
    name_zh: str
    name_en: str
    description_zh: str | None
    nodes: tuple[ChainNode, ...]
    tree: NodeTree = field(init=False, repr=False, compare=False)
    _index: dict[str, ChainNode] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", NodeTree({n.node_id: n.parent for n in self.nodes}))
        object.__setattr__(self, "_index", {n.node_id: n for n in self.nodes})

    def node(self, text: str) -> ChainNode:
        """The node with this id or Chinese name; NotFoundError naming the chain if none."""
        query = text.strip()
        found = self._index.get(query) or next(
            (n for n in self.nodes if n.name_zh == query), None)
        if found is None:
            raise NotFoundError(f"Chain {self.chain_id!r} ({self.name_zh}) has no node "
                                f"{query!r}.")
        return found

    @property
    def node_ids(self) -> tuple[str, ...]:
        """Every node id, in template order."""
        return tuple(n.node_id for n in self.nodes)

    def leaves(self) -> tuple[ChainNode, ...]:
        """The nodes without children, in template order."""
        return tuple(n for n in self.nodes if n.is_leaf)

    def ancestors(self, node_id: str) -> tuple[str, ...]:
        """Ancestor ids of a node, parent first."""
        return self.tree.ancestors(self.node(node_id).node_id)

    def subtree(self, node_id: str | None) -> tuple[str, ...]:
        """The node and every node below it (the whole chain when ``node_id`` is None)."""
        if node_id is None:
            return self.node_ids
        return self.tree.subtree(self.node(node_id).node_id)

    def names(self) -> dict[str, str]:
        """node_id -> Chinese name."""
        return {n.node_id: n.name_zh for n in self.nodes}

    def summary(self) -> dict[str, str]:
        """The fields outputs echo back: chain_id, name_zh."""
        return {"chain_id": self.chain_id, "name_zh": self.name_zh}


# Chains of file stores, by (path, text): every ranking and page resolves its
# chain, and two queries per call cost ~1.7 ms. Chains change only when templates are
# stored (:func:`chains_changed`, called by classification), and a store file is written
# by one process at a time (DuckDB's lock), so the cache cannot go stale; in-memory
# stores are never cached.
_CHAINS: dict[tuple[str, str], Chain] = {}


def chains_changed() -> None:
    """Forget cached chains (call after writing ``chains`` / ``chain_nodes``)."""
    _CHAINS.clear()


def chain_from_text(db: Database, text: str) -> Chain:
    """The stored chain by id (biomedicine) or Chinese name (生物医药), with its nodes."""
    query = text.strip()
    key = (db.path, query)
    if db.path != ":memory:" and key in _CHAINS:
        return _CHAINS[key]
    rows = db.rows("SELECT * FROM chains WHERE chain_id = ? OR name_zh = ?", [query, query])
    if not rows:
        known = ", ".join(f"{r[0]} ({r[1]})" for r in db.execute(
            "SELECT chain_id, name_zh FROM chains ORDER BY chain_id").fetchall())
        raise NotFoundError(f"No chain {query!r}. Known chains: {known or 'none (build)'}.")
    row = rows[0]
    nodes = tuple(ChainNode(
        node_id=str(n[0]), name_zh=str(n[1]), name_en=str(n[2]), stage=str(n[3]),
        parent=None if n[4] is None else str(n[4]), level=int(n[5]), is_leaf=bool(n[6]),
        ord=int(n[7]), kind=str(n[8])) for n in db.execute(
        "SELECT node_id, name_zh, name_en, stage, parent, level, is_leaf, ord, kind "
        "FROM chain_nodes WHERE chain_id = ? ORDER BY ord", [row["chain_id"]]).fetchall())
    chain = Chain(chain_id=str(row["chain_id"]), name_zh=str(row["name_zh"]),
                  name_en=str(row["name_en"]), description_zh=row.get("description_zh"),
                  nodes=nodes)
    if db.path != ":memory:":
        _CHAINS[key] = chain
    return chain


def as_chain(db: Database, chain: Chain | str) -> Chain:
    """A :class:`Chain` for a chain or its id/Chinese name."""
    return chain if isinstance(chain, Chain) else chain_from_text(db, chain)


def list_chains(db: Database) -> list[dict[str, Any]]:
    """Every stored chain: id, names, node and leaf counts, template path."""
    return db.rows(
        "SELECT c.chain_id, c.name_zh, c.name_en, c.description_zh, c.path, "
        "count(n.node_id) AS nodes, count(n.node_id) FILTER (WHERE n.is_leaf) AS leaves "
        "FROM chains c LEFT JOIN chain_nodes n USING (chain_id) GROUP BY ALL "
        "ORDER BY c.chain_id")


# --------------------------------------------------------------------------- firms


def firm_from_text(db: Database, text: str) -> dict[str, Any]:
    """Resolve one firm from a company id, stock code, USCC, or a short/full/former name.

    Raises NotFoundError (with close names) when nothing matches, or when a name is
    ambiguous (listing the candidates' ids).
    """
    query = text.strip()
    rows = db.rows("SELECT * FROM companies WHERE company_id = ? OR uscc = ?", [query, query])
    code = normalise_stock_code(query) if any(ch.isdigit() for ch in query) else None
    if not rows and code and len(query.replace(".", "")) <= 9:
        rows = db.rows("SELECT * FROM companies WHERE company_id = ?", [code])
    if not rows:
        rows = db.rows(
            "SELECT DISTINCT c.* FROM companies c LEFT JOIN company_names n USING (company_id) "
            "WHERE c.short_name = ? OR c.full_name = ? OR n.name = ? ORDER BY c.company_id",
            [query, query, query])
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        ids = ", ".join(str(r["company_id"]) for r in rows[:8])
        raise NotFoundError(f"{query!r} names several firms ({ids}); give the id instead.")
    close = [r[0] for r in db.execute(
        "SELECT short_name FROM companies WHERE short_name IS NOT NULL "
        "ORDER BY jaro_winkler_similarity(short_name, ?) DESC LIMIT 3", [query]).fetchall()]
    raise NotFoundError(f"No firm {query!r}. Did you mean: {', '.join(close)}?")


def region_names(db: Database, adcodes: Iterable[str]) -> dict[str, str]:
    """adcode -> name for the given adcodes (missing ones left out)."""
    wanted = sorted({str(a) for a in adcodes if a})
    if not wanted:
        return {}
    return {str(a): str(n) for a, n in db.execute(
        "SELECT adcode, name FROM regions WHERE list_contains(?, adcode)", [wanted]).fetchall()}


# --------------------------------------------------------------------------- universes

_UNIVERSE_WORDS = {"listed": "listed", "上市": "listed", "上市企业": "listed",
                   "registry": "registry", "登记": "registry", "工商登记": "registry",
                   "工商登记企业": "registry", "all": "all", "全部": "all", "全部企业": "all"}


def default_universe(db: Database) -> str:
    """``all`` when firms other than listed ones (registry or the user's roster) are
    loaded, else ``listed``: a roster user's own firms count only under ``all``."""
    loaded = db.scalar("SELECT EXISTS (SELECT 1 FROM companies WHERE origin <> 'listed')")
    return "all" if loaded else "listed"


def as_universe(db: Database, text: str | None) -> str:
    """A universe id from user text (id or Chinese name); None means the default."""
    if text is None or not text.strip():
        return default_universe(db)
    found = _UNIVERSE_WORDS.get(text.strip().lower())
    if found is None:
        choices = ", ".join(f"{key} ({name})" for key, name in UNIVERSES.items())
        raise NotFoundError(f"unknown firm universe {text!r}; choose one of {choices}")
    return found
