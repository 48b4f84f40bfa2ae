"""Industry directions named in a policy text, mapped to chains and their nodes.

Three sources of terms, in the order a tie is decided:

1. a chain's name and the policy phrases of ``directions.yaml`` (生物医药 → the chain;
   疫苗 → 人用疫苗; 软件研发 → 软件与信息技术服务);
2. every node name of the templates, and its parts split at 、与和及 with brackets
   dropped (云计算、大数据与人工智能 gives 云计算, 大数据, 人工智能);
3. nothing else: product keywords of the templates name goods, not directions.

Terms are found leftmost-longest (Aho-Corasick), so 细胞与基因治疗 is one direction, not
two. A term of several nodes maps to the most general of them. A direction a text lists
after a priority verb (重点发展, 培育壮大, 布局 …) that no term covers is kept as an
*unmapped* direction with its span, for the analyst to map or dismiss.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

import ahocorasick_rs
import yaml

from chainatlas.chains.templates import ChainTemplate, load_templates

_PART_SPLIT = re.compile(r"[、与和及/]")
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")
#: Verbs after which a text lists the directions it gives priority to.
PRIORITY_VERBS = re.compile(r"重点发展|大力发展|加快发展|积极发展|培育壮大|培育发展|做大做强|"
                            r"做强做优|做优做强|做强|壮大|重点布局|前瞻布局|布局|聚焦|打造|"
                            r"发展壮大|突破发展|提升发展")
_LIST_END = "。；;！？\n，,"
_ITEM_SPLIT = re.compile(r"[、]|(?:以及|和|及)")
#: Parts too general to name a direction by themselves.
_TOO_GENERAL = {"服务", "设备", "材料", "制造", "产业", "器件", "系统", "产品", "技术"}


@dataclass(frozen=True)
class Direction:
    """A direction named in a text: its span, the chain and node it maps to (None when
    it maps to none), and how it was mapped (alias, node, part, chain, unmapped)."""

    start: int
    end: int
    text: str
    chain_id: str | None
    node_id: str | None
    how: str

    def as_dict(self) -> dict[str, Any]:
        """The direction as a JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class _Target:
    chain_id: str
    node_id: str | None
    how: str
    level: int


def _aliases() -> dict[str, Any]:
    text = resources.files("chainatlas.intake").joinpath("directions.yaml").read_text(
        encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def _name_parts(name: str) -> list[str]:
    core = _BRACKETS.sub("", name)
    parts = [p.strip() for p in _PART_SPLIT.split(core) if len(p.strip()) >= 2]
    return [p for p in parts if p not in _TOO_GENERAL and p != core]


def _put(index: dict[str, list[_Target]], term: str, target: _Target) -> None:
    index.setdefault(term, []).append(target)


def build_terms(templates: Mapping[str, ChainTemplate],
                aliases: Mapping[str, Mapping[str, Sequence[str]]]) -> dict[str, _Target]:
    """Every term and the one target it maps to (the strongest source, then the most
    general node, then template order)."""
    index: dict[str, list[_Target]] = {}
    for chain_id, template in templates.items():
        _put(index, template.name_zh, _Target(chain_id, None, "chain", 0))
        for node in template.nodes:
            _put(index, node.name_zh, _Target(chain_id, node.id, "node", node.level))
            core = _BRACKETS.sub("", node.name_zh)
            if core != node.name_zh:
                _put(index, core, _Target(chain_id, node.id, "node", node.level))
            for part in _name_parts(node.name_zh):
                _put(index, part, _Target(chain_id, node.id, "part", node.level))
    for chain_id, mapping in aliases.items():
        for key, phrases in mapping.items():
            node_id = None if key == "chain" else key
            level = 0 if node_id is None else templates[chain_id].node(key).level
            for phrase in phrases:
                _put(index, str(phrase), _Target(chain_id, node_id, "alias", level))
    rank = {"alias": 0, "chain": 0, "node": 1, "part": 2}
    return {term: min(targets, key=lambda t: (rank[t.how], t.level))
            for term, targets in index.items()}


@cache
def _matcher() -> tuple[list[str], list[_Target], ahocorasick_rs.AhoCorasick]:
    terms = build_terms(load_templates(), _aliases())
    words = sorted(terms)
    return words, [terms[w] for w in words], ahocorasick_rs.AhoCorasick(
        words, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)


def _mapped(text: str) -> list[Direction]:
    words, targets, matcher = _matcher()
    out = []
    for index, start, end in matcher.find_matches_as_indexes(text):
        target = targets[index]
        how = "chain" if target.node_id is None else target.how
        out.append(Direction(start, end, words[index], target.chain_id, target.node_id, how))
    return out


def _listed(text: str) -> list[tuple[int, int]]:
    """Spans of the items a text lists after a priority verb, up to the clause's end."""
    spans = []
    for verb in PRIORITY_VERBS.finditer(text):
        stop = next((i for i in range(verb.end(), len(text)) if text[i] in _LIST_END),
                    len(text))
        begin = verb.end()
        for piece in _ITEM_SPLIT.finditer(text, begin, stop):
            spans.append((begin, piece.start()))
            begin = piece.end()
        spans.append((begin, stop))
    return [(s, e) for s, e in spans if 2 <= e - s <= 16]


def find_directions(text: str) -> list[Direction]:
    """Every direction of ``text``: mapped terms, and listed items no term covers."""
    mapped = _mapped(text)
    out = list(mapped)
    for start, end in _listed(text):
        if any(d.start < end and start < d.end for d in mapped):
            continue
        item = text[start:end].strip("“”\"' 　")
        if item and not re.search(r"\d", item):
            offset = text.index(item, start)
            out.append(Direction(offset, offset + len(item), item, None, None, "unmapped"))
    return sorted(out, key=lambda d: d.start)
