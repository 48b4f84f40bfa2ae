"""卡脖子 (chokepoint) technologies: a curated, user-editable YAML mapped to chain nodes.

The built-in list (``analysis/data/chokepoints.yaml``) holds the 35 technologies of 科技
日报's 2018 series 「亟待攻克的核心技术」, each mapped to the template nodes it constrains;
an item no node covers is kept with ``nodes: null`` and a note. :func:`load_chokepoints`
validates a file against the chain templates and raises
:class:`~chainatlas.errors.InputError` with every problem (file, YAML line, ``items[i].
field``); :func:`chokepoints_by_node` and :func:`mark_chokepoints` put them beside the
resilience results.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from chainatlas.chains.templates import ChainTemplate, load_templates
from chainatlas.chains.yamlcheck import (
    Collector,
    Lines,
    check_slug,
    check_text,
    read_yaml,
    type_name,
)
from chainatlas.errors import InputError, Problem

BUILTIN = Path(__file__).with_name("data") / "chokepoints.yaml"
_TOP = ("source", "items")
_ITEM = ("id", "ordinal", "name_zh", "nodes", "note_zh")


@dataclass(frozen=True)
class Chokepoint:
    """One 卡脖子 technology and the (chain, node) pairs it constrains (none: unmapped)."""

    id: str
    name_zh: str
    ordinal: int | None
    nodes: tuple[tuple[str, str], ...]
    note_zh: str | None = None

    def record(self) -> dict[str, Any]:
        """A plain dict for outputs."""
        return {"id": self.id, "name_zh": self.name_zh, "ordinal": self.ordinal,
                "nodes": [{"chain": c, "node": n} for c, n in self.nodes] or None,
                "note_zh": self.note_zh}


@dataclass(frozen=True)
class ChokepointList:
    """A validated chokepoint file: its source block and items, in file order."""

    path: str
    source: Mapping[str, Any]
    items: tuple[Chokepoint, ...]


def _nodes(out: Collector, raw: Any, where: str, path: tuple[str | int, ...],
           templates: Mapping[str, ChainTemplate]) -> tuple[tuple[str, str], ...] | None:
    """The (chain, node) pairs of one item; None when the item has none (null)."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        out.add(f"{where}.nodes", f"must be a non-empty list of {{chain, node}} or null, "
                                  f"got {type_name(raw)}", *path, "nodes")
        return ()
    pairs: list[tuple[str, str]] = []
    for j, entry in enumerate(raw):
        at = f"{where}.nodes[{j}]"
        if not isinstance(entry, dict) or set(entry) != {"chain", "node"}:
            out.add(at, "must be a mapping with exactly the keys chain and node",
                    *path, "nodes", j)
            continue
        chain, node = entry["chain"], entry["node"]
        template = templates.get(str(chain))
        if template is None:
            out.add(f"{at}.chain", f"unknown chain {chain!r} (known: "
                                   f"{', '.join(sorted(templates))})", *path, "nodes", j)
        elif str(node) not in {n.id for n in template.nodes}:
            out.add(f"{at}.node", f"chain {chain!r} has no node {node!r}", *path, "nodes", j)
        else:
            pairs.append((str(chain), str(node)))
    return tuple(pairs)


def _item(out: Collector, raw: Any, i: int, templates: Mapping[str, ChainTemplate],
          seen: set[str]) -> Chokepoint | None:
    where, path = f"items[{i}]", ("items", i)
    if not isinstance(raw, dict):
        out.add(where, f"must be a mapping, got {type_name(raw)}", *path)
        return None
    for key in sorted(set(raw) - set(_ITEM), key=str):
        out.add(f"{where}.{key}", f"unknown field {key!r} (allowed: {', '.join(_ITEM)})",
                *path, str(key))
    item_id = check_text(out, raw, "id", f"{where}.id", path, required=True)
    if check_slug(out, item_id, f"{where}.id", (*path, "id")) and item_id in seen:
        out.add(f"{where}.id", f"id {item_id!r} is used twice", *path, "id")
    name = check_text(out, raw, "name_zh", f"{where}.name_zh", path, required=True)
    note = check_text(out, raw, "note_zh", f"{where}.note_zh", path, required=False)
    ordinal = raw.get("ordinal")
    if ordinal is not None and (isinstance(ordinal, bool) or not isinstance(ordinal, int)):
        out.add(f"{where}.ordinal", f"must be a whole number, got {type_name(ordinal)}",
                *path, "ordinal")
        ordinal = None
    if "nodes" not in raw:
        out.add(f"{where}.nodes", "required field 'nodes' is missing (null when no node "
                                  "covers the item)", *path)
    nodes = _nodes(out, raw.get("nodes"), where, path, templates)
    if nodes is None and note is None:
        out.add(f"{where}.note_zh", "an item with nodes: null needs a note_zh saying why",
                *path)
    if item_id is None or name is None:
        return None
    seen.add(item_id)
    return Chokepoint(item_id, name, ordinal, nodes or (), note)


def load_chokepoints(path: Path | str | None = None,
                     templates: Mapping[str, ChainTemplate] | None = None) -> ChokepointList:
    """Load and validate a chokepoint file (the built-in one by default) against the
    chain templates (the built-in ones by default); InputError lists every problem."""
    p = Path(path) if path is not None else BUILTIN
    known = load_templates() if templates is None else templates
    out = Collector(str(p), Lines(None))
    data = read_yaml(p, out)
    if data is None and out.problems:
        raise InputError(out.problems)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise InputError([Problem(str(p), out.lines.of(), "items",
                                  "a chokepoint file must be a mapping with a list 'items'")])
    for key in sorted(set(data) - set(_TOP), key=str):
        out.add(str(key), f"unknown field {key!r} (allowed: {', '.join(_TOP)})", str(key))
    source = data.get("source")
    if not isinstance(source, dict) or not source.get("title_zh"):
        out.add("source", "must be a mapping naming the list's source (title_zh)", "source")
    seen: set[str] = set()
    items = [_item(out, raw, i, known, seen) for i, raw in enumerate(data["items"])]
    if out.problems:
        raise InputError(out.problems)
    return ChokepointList(str(p), dict(source or {}),
                          tuple(i for i in items if i is not None))


@functools.cache
def builtin_chokepoints() -> ChokepointList:
    """The built-in list, validated against the built-in templates once per process
    (loading the templates takes seconds)."""
    return load_chokepoints()


def chokepoints_by_node(points: ChokepointList, chain_id: str) -> dict[str, list[str]]:
    """node_id -> names of the chokepoints mapped to it, for one chain."""
    out: dict[str, list[str]] = {}
    for item in points.items:
        for chain, node in item.nodes:
            if chain == chain_id:
                out.setdefault(node, []).append(item.name_zh)
    return out


def mark_chokepoints(frame: pd.DataFrame, chain_id: str,
                     unit_nodes: Mapping[str, str] | None = None,
                     points: ChokepointList | None = None) -> pd.DataFrame:
    """Add ``node_chokepoints`` and ``chokepoints`` (names) to a frame with ``unit_id``.

    Nodes (``unit_nodes`` None): both are the node's own items. Products: the items of
    the node the product places its firms on (``unit_nodes``) are ``node_chokepoints``;
    ``chokepoints`` keeps those whose name the product's name contains (光刻胶 in KrF光刻胶),
    so a 玻璃基板 on 显示材料 is not marked 微球 for sharing its node."""
    found = chokepoints_by_node(points or builtin_chokepoints(), chain_id)
    units = [str(u) for u in frame["unit_id"]]
    on_node = [list(found.get(unit_nodes.get(u, "") if unit_nodes else u, []))
               for u in units]
    own = on_node if unit_nodes is None else [
        [name for name in items if name in u] for u, items in zip(units, on_node, strict=True)]
    out = frame.copy()
    out["node_chokepoints"] = pd.Series(on_node, index=frame.index, dtype=object)
    out["chokepoints"] = pd.Series(own, index=frame.index, dtype=object)
    return out


def unmapped(points: ChokepointList) -> list[dict[str, Any]]:
    """The items no template node covers, with their notes."""
    return [i.record() for i in points.items if not i.nodes]


def on_chain(points: ChokepointList, chain_id: str) -> Sequence[Chokepoint]:
    """The items mapped to at least one node of the chain."""
    return [i for i in points.items if any(c == chain_id for c, _ in i.nodes)]
