"""Keyword matching of texts against a chain's nodes (Aho-Corasick, one pass per text).

A node matches a text when the text contains one of the node's keywords and none of its
exclusion keywords. Matching is case-sensitive on purpose: the templates rely on it (CRO
must not match "micro").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from chainatlas.chains.templates import ChainTemplate


@dataclass(frozen=True)
class NodeHit:
    """The keywords of one node found in one text."""

    node_id: str
    keywords: tuple[str, ...]


class ChainMatcher:
    """All keywords and exclusions of one chain, compiled into one automaton."""

    def __init__(self, template: ChainTemplate) -> None:
        self.template = template
        self._ids = [n.id for n in template.nodes]
        entries: dict[str, list[tuple[int, bool]]] = {}
        for index, node in enumerate(template.nodes):
            for word in node.keywords:
                entries.setdefault(word, []).append((index, False))
            for word in node.exclude:
                entries.setdefault(word, []).append((index, True))
        self._automaton = ahocorasick.Automaton()
        for word, targets in entries.items():
            self._automaton.add_word(word, (word, tuple(targets)))
        self._empty = not entries
        if not self._empty:
            self._automaton.make_automaton()

    def match(self, text: str | None) -> list[NodeHit]:
        """Return the nodes whose keywords (and no exclusions) occur in ``text``."""
        if not text or self._empty:
            return []
        found: dict[int, list[str]] = {}
        excluded: set[int] = set()
        for _, (word, targets) in self._automaton.iter(text):
            for index, is_exclusion in targets:
                if is_exclusion:
                    excluded.add(index)
                elif word not in found.setdefault(index, []):
                    found[index].append(word)
        return [NodeHit(self._ids[i], tuple(words)) for i, words in sorted(found.items())
                if i not in excluded]

    def match_segments(self, segments: Iterable[str]) -> dict[str, list[str]]:
        """Match each segment separately (an exclusion only voids its own segment).

        Returns node id -> distinct keywords found across segments.
        """
        out: dict[str, list[str]] = {}
        for segment in segments:
            for hit in self.match(segment):
                words = out.setdefault(hit.node_id, [])
                words.extend(w for w in hit.keywords if w not in words)
        return out
