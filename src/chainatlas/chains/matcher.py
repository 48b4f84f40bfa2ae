"""Keyword matching of texts against chain nodes (Aho-Corasick, one pass per text).

A node matches a text when the text contains one of the node's keywords and none of its
exclusion keywords. Matching is case-sensitive on purpose: the templates rely on it (CRO
must not match "micro"). The automaton is ahocorasick-rs (Rust): one scan of a 200-character
business scope takes a few microseconds and returns plain integer tuples.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ahocorasick_rs

from chainatlas.chains.templates import ChainTemplate

# Standard clauses of the national business-scope catalogue (经营范围规范表述) that almost
# every firm lists: on their own they say nothing about which chain a firm is on.
GENERIC_CLAUSES = frozenset({
    "技术服务", "技术开发", "技术咨询", "技术交流", "技术转让", "技术推广", "软件开发",
    "会议及展览服务", "日用百货销售", "国内贸易代理", "装卸搬运", "信息系统集成服务",
    "普通货物仓储服务", "货物进出口", "技术进出口", "进出口代理", "企业管理咨询",
    "信息咨询服务", "信息技术咨询服务", "广告设计", "广告制作", "广告发布", "代理",
    "办公用品销售", "五金产品零售", "五金产品批发", "电子产品销售", "机械设备销售",
    "计算机软硬件及辅助设备零售", "计算机软硬件及辅助设备批发", "包装服务", "物业管理",
    "非居住房地产租赁", "住房租赁", "市场营销策划", "社会经济咨询服务", "人力资源服务",
    "企业形象策划", "平面设计", "数据处理服务", "信息系统运行维护服务", "日用品销售",
    "化工产品销售", "建筑材料销售", "金属材料销售", "机械设备租赁", "互联网销售",
    "通讯设备销售", "仪器仪表销售", "劳务服务", "专业设计服务", "工程和技术研究和试验发展",
    "普通机械设备安装服务", "家用电器销售", "供应链管理服务", "道路货物运输",
})
# Clause separators; \x01 marks where one clause of :meth:`ScopeMatcher.match_clauses`
# ends (it never occurs in real text).
#: Clauses kept by :meth:`ScopeMatcher.match_cached` before the cache starts over.
CACHE_SIZE = 1 << 18
_SEPARATORS = "；;。，,、：:\\s（）()\x01"
_MARK = "\x01"
_JOIN = _MARK
_SCOPE_SPLIT = re.compile(f"[{_SEPARATORS}]+")
# A whole clause that is boilerplate, between separators (or the text's ends).
_GENERIC_RE = re.compile(
    f"(?:^|(?<=[{_SEPARATORS}]))(?:"
    + "|".join(re.escape(c) for c in sorted(GENERIC_CLAUSES, key=len, reverse=True))
    + f")(?=[{_SEPARATORS}]|$)")


@dataclass(frozen=True)
class NodeHit:
    """The keywords of one node found in one text."""

    node_id: str
    keywords: tuple[str, ...]


class _Automaton:
    """Words -> (positive targets, exclusion targets), compiled once."""

    def __init__(self, positives: Mapping[str, list[int]],
                 exclusions: Mapping[str, list[int]]) -> None:
        self.words = sorted(set(positives) | set(exclusions))
        self.pos = [tuple(positives.get(w, ())) for w in self.words]
        self.neg = [tuple(exclusions.get(w, ())) for w in self.words]
        self.negative_words = frozenset(i for i, n in enumerate(self.neg) if n)
        self.ac = ahocorasick_rs.AhoCorasick(self.words) if self.words else None

    def hits(self, text: str) -> list[tuple[int, int, int]]:
        """(word index, start, end) of every occurrence, overlapping ones included."""
        if self.ac is None:
            return []
        return list(self.ac.find_matches_as_indexes(text, overlapping=True))


def _targets(items: list[tuple[int, tuple[str, ...], tuple[str, ...]]]) -> _Automaton:
    positives: dict[str, list[int]] = {}
    exclusions: dict[str, list[int]] = {}
    for index, keywords, excludes in items:
        for word in keywords:
            positives.setdefault(word, []).append(index)
        for word in excludes:
            exclusions.setdefault(word, []).append(index)
    return _Automaton(positives, exclusions)


# A composite product name shares its head noun (显示和传感器件 = 显示器件 + 传感器件).
_CONNECTOR = re.compile(r"[和与及、]")
_HEADS = ("器件", "设备", "材料", "产品", "系统", "模块", "组件", "芯片", "装备", "元件", "仪器",
          "制剂", "试剂", "药品", "服务")
_TRAILERS = re.compile(r"(业务|事业部|事业|板块|系列|类|产品线)$")


def composite_parts(name: str) -> list[str]:
    """The name and, for ``A和B<head>``, the part ``A<head>`` it abbreviates."""
    pieces = _CONNECTOR.split(name, maxsplit=1)
    if len(pieces) != 2:
        return [name]
    first, second = pieces[0], _TRAILERS.sub("", pieces[1])
    head = next((h for h in _HEADS if second.endswith(h) and len(second) > len(h)), None)
    if head is None or not first or first.endswith(head):
        return [name]
    return [name, first + head]


class ChainMatcher:
    """All keywords and exclusions of one chain, for short texts such as product names.

    A composite name (``显示和传感器件业务``) is matched as its parts too
    (:func:`composite_parts`), so each line it names is found.
    """

    def __init__(self, template: ChainTemplate) -> None:
        self._ids = [n.id for n in template.nodes]
        self._auto = _targets([(i, n.keywords, n.exclude) for i, n in enumerate(template.nodes)])

    def match(self, text: str | None) -> list[NodeHit]:
        """Return the nodes whose keywords (and no exclusions) occur in ``text`` or in
        one of its composite parts."""
        if not text:
            return []
        parts = composite_parts(text)
        if len(parts) == 1:
            return self._match_one(text)
        merged: dict[str, list[str]] = {}
        for part in parts:
            for hit in self._match_one(part):
                words = merged.setdefault(hit.node_id, [])
                words.extend(w for w in hit.keywords if w not in words)
        order = {node_id: i for i, node_id in enumerate(self._ids)}
        return [NodeHit(n, tuple(w)) for n, w in sorted(merged.items(), key=lambda x: order[x[0]])]

    def _match_one(self, text: str) -> list[NodeHit]:
        found: dict[int, list[str]] = {}
        excluded: set[int] = set()
        for word, _, _ in self._auto.hits(text):
            excluded.update(self._auto.neg[word])
            for index in self._auto.pos[word]:
                words = found.setdefault(index, [])
                if self._auto.words[word] not in words:
                    words.append(self._auto.words[word])
        return [NodeHit(self._ids[i], tuple(words)) for i, words in sorted(found.items())
                if i not in excluded]


class ScopeMatcher:
    """Every chain's keywords in one automaton: one pass over a business scope.

    The scope is cut into clauses (by punctuation); an exclusion voids a node only within
    its own clause, and a catalogue boilerplate clause (GENERIC_CLAUSES) places nobody.
    Clause boundaries are only worked out for texts that hit an exclusion word.
    """

    def __init__(self, templates: Mapping[str, ChainTemplate]) -> None:
        self._keys = [(cid, n.id) for cid, t in templates.items() for n in t.nodes]
        self._cache: dict[str, dict[tuple[str, str], list[str]]] = {}
        nodes = [n for t in templates.values() for n in t.nodes]
        self._auto = _targets([(i, (*n.keywords, *n.scope_keywords), n.exclude)
                               for i, n in enumerate(nodes)])

    def match(self, scope: str | None) -> dict[tuple[str, str], list[str]]:
        """(chain_id, node_id) -> distinct keywords found in the scope's clauses."""
        if not scope:
            return {}
        text = _GENERIC_RE.sub("", scope)
        hits = self._auto.hits(text)
        if not hits:
            return {}
        auto = self._auto
        if auto.negative_words.isdisjoint(h[0] for h in hits):
            clause_of = None
        else:
            seps = [m.start() for m in _SCOPE_SPLIT.finditer(text)]
            clause_of = [bisect.bisect_left(seps, end) for _, _, end in hits]
        found: dict[int, list[str]] = {}
        excluded: set[tuple[int, int]] = set()
        for k, (word, _, _) in enumerate(hits):
            clause = clause_of[k] if clause_of else 0
            for index in auto.neg[word]:
                excluded.add((clause, index))
            for index in auto.pos[word]:
                key = index * 1_000_003 + clause  # one dict key per (node, clause)
                found.setdefault(key, []).append(auto.words[word])
        out: dict[tuple[str, str], list[str]] = {}
        for key, words in found.items():
            index, clause = divmod(key, 1_000_003)
            if (clause, index) not in excluded:
                merged = out.setdefault(self._keys[index], [])
                merged.extend(w for w in words if w not in merged)
        return out

    def match_cached(self, clauses: Sequence[str]) -> list[dict[tuple[str, str], list[str]]]:
        """:meth:`match_clauses`, one clause at a time through a bounded cache: scope
        items repeat across registrations, so most are matched once. The results are
        shared: callers must not change them."""
        cache = self._cache
        out = []
        for clause in clauses:
            hit = cache.get(clause)
            if hit is None:
                hit = self.match_clauses([clause])[0]
                if len(cache) >= CACHE_SIZE:
                    cache.clear()  # cheap bound; the hot clauses come straight back
                cache[clause] = hit
            out.append(hit)
        return out

    def match_clauses(self, clauses: Sequence[str]) -> list[dict[tuple[str, str], list[str]]]:
        """:meth:`match` of each clause, in one automaton pass over all of them.

        The clauses are joined with a separator plus a marker character no keyword holds,
        so hits never span two clauses and the marker positions tell each hit's clause.
        """
        out: list[dict[tuple[str, str], list[str]]] = [{} for _ in clauses]
        if not clauses:
            return out
        text = _GENERIC_RE.sub("", "".join(c + _JOIN for c in clauses))
        hits = self._auto.hits(text)
        if not hits:
            return out
        marks = [i for i, ch in enumerate(text) if ch == _MARK]
        seps = [m.start() for m in _SCOPE_SPLIT.finditer(text)]
        auto = self._auto
        found: dict[tuple[int, int, int], list[str]] = {}
        excluded: set[tuple[int, int]] = set()
        for word, _, end in hits:
            sub = bisect.bisect_left(seps, end)  # the fine clause, for exclusions
            owner = bisect.bisect_left(marks, end)
            for index in auto.neg[word]:
                excluded.add((sub, index))
            for index in auto.pos[word]:
                found.setdefault((owner, index, sub), []).append(auto.words[word])
        for (owner, index, sub), words in found.items():
            if (sub, index) not in excluded and owner < len(out):
                merged = out[owner].setdefault(self._keys[index], [])
                merged.extend(w for w in words if w not in merged)
        return out
