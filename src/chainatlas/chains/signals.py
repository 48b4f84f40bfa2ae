"""The evidence that places a firm on a chain node, and how it becomes a confidence.

Four rule signals and one learned one, each a strength in [0, 1]:

============  ==========================================================================
products      revenue share of the firm's products whose names hold a node keyword:
              ``0.9 * min(1, share / 0.25)`` up to a quarter of revenue, then rising
              slowly to 0.99 at all of it, so the larger line wins between two that
              both pass a quarter (中兴通讯's 62 % 运营商网络 over its 28 % 手机 line).
              Firms whose shares are all missing count each product as 1/n (the
              store's ``product_weights`` view holds that rule).
shenwan       the firm's Shenwan level-3 code listed on the node: 0.55; its level-2
              code listed: 0.45; its level-1 code listed: 0.30.
gbt           the firm's GB/T 4754 code equal to a node class: 0.60; a group (3 digits)
              containing a node class: 0.35; a division (2 digits): 0.20.
scope         distinct node keywords in the business scope: 1 -> 0.45, 2 -> 0.65,
              3 or more -> 0.75 (an exclusion voids only its own clause; catalogue
              boilerplate clauses such as 技术服务 or 软件开发 are ignored).
model         the text model's probability p, when p >= 0.5: ``0.7 * p`` — only for
              firms known by their business scope alone that no rule places anywhere.
parent        the confidence of the firm's placements on the node's ancestors: what
              places a firm on 中药 supports its products' 中成药 too, so the most
              specific node the evidence reaches is never weaker than its parent.
============  ==========================================================================

Confidence is the noisy-OR of the strengths, ``1 - prod(1 - s)``; a firm is placed on a
node when confidence >= :data:`PLACE_THRESHOLD`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PLACE_THRESHOLD = 0.35
PRODUCT_FULL_SHARE = 0.25
MODEL_MIN_PROBABILITY = 0.5

def product_strength(share: float) -> float:
    """Strength of the product signal for a matched revenue share (module docstring)."""
    share = min(max(share, 0.0), 1.0)
    if share <= PRODUCT_FULL_SHARE:
        return 0.9 * share / PRODUCT_FULL_SHARE
    return 0.9 + 0.09 * (share - PRODUCT_FULL_SHARE) / (1.0 - PRODUCT_FULL_SHARE)


def shenwan_strength(firm_code: str, node_codes: Iterable[str]) -> tuple[float, str | None]:
    """Strength and matched node code for a firm's Shenwan level-3 code."""
    codes = set(node_codes)
    for strength, code in ((0.55, firm_code), (0.45, firm_code[:4] + "00"),
                           (0.30, firm_code[:2] + "0000")):
        if code in codes:
            return strength, code
    return 0.0, None


def gbt_strength(firm_code: str, node_codes: Iterable[str]) -> tuple[float, str | None]:
    """Strength and matched node class for a firm's GB/T 4754 code (2 to 4 digits)."""
    for code in node_codes:
        if firm_code == code:
            return 0.60, code
    for code in node_codes:
        if len(firm_code) == 3 and code.startswith(firm_code):
            return 0.35, code
        if len(firm_code) == 2 and code.startswith(firm_code):
            return 0.20, code
    return 0.0, None


def scope_strength(keywords: Sequence[str]) -> float:
    """Strength of the business-scope signal for the distinct keywords found."""
    return {0: 0.0, 1: 0.45, 2: 0.65}.get(len(keywords), 0.75)


def noisy_or(strengths: Iterable[float]) -> float:
    """Combine independent strengths: 1 - prod(1 - s)."""
    return 1.0 - math.prod(1.0 - s for s in strengths)


@dataclass
class Evidence:
    """Everything that placed one firm on one node."""

    products: list[dict[str, Any]] = field(default_factory=list)
    shenwan: dict[str, Any] | None = None
    gbt: dict[str, Any] | None = None
    scope_keywords: list[str] = field(default_factory=list)
    #: Clause-level scope hits (``scope_rules.ClauseHit.to_dict``); when present they,
    #: not the flat keyword list, make the scope strength.
    scope_clauses: list[dict[str, Any]] = field(default_factory=list)
    model_probability: float | None = None
    #: Noisy-OR confidence of the firm's own placements on this node's ancestors.
    parent: float | None = None

    def strengths(self) -> dict[str, float]:
        """Return each present signal's strength."""
        out: dict[str, float] = {}
        if self.products:
            out["products"] = product_strength(sum(p["share"] for p in self.products))
        if self.shenwan:
            out["shenwan"] = float(self.shenwan["strength"])
        if self.gbt:
            out["gbt"] = float(self.gbt["strength"])
        if self.scope_clauses:
            out["scope"] = noisy_or(scope_strength(c["keywords"]) * float(c["weight"])
                                    for c in self.scope_clauses)
        elif self.scope_keywords:
            out["scope"] = scope_strength(self.scope_keywords)
        if self.model_probability is not None and \
                self.model_probability >= MODEL_MIN_PROBABILITY:
            out["model"] = 0.7 * self.model_probability
        if self.parent:
            out["parent"] = self.parent
        return out

    def confidence(self) -> float:
        """Noisy-OR confidence of all signals."""
        return round(noisy_or(self.strengths().values()), 4)

    def method(self) -> str:
        """'rules' when any rule signal fired, else 'model'."""
        return "model" if set(self.strengths()) - {"parent"} == {"model"} else "rules"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able evidence, with each signal's strength."""
        out: dict[str, Any] = {"signals": {k: round(v, 4) for k, v in self.strengths().items()}}
        if self.products:
            out["products"] = sorted(self.products, key=lambda p: -p["share"])
        if self.shenwan:
            out["shenwan"] = self.shenwan
        if self.gbt:
            out["gbt"] = self.gbt
        if self.scope_keywords:
            out["scope_keywords"] = self.scope_keywords
        if self.scope_clauses:
            out["scope_clauses"] = self.scope_clauses
        if self.model_probability is not None:
            out["model_probability"] = round(self.model_probability, 4)
        return out


def merge_product_hits(hits: Mapping[str, Mapping[str, list[str]]],
                       shares: Sequence[tuple[str, float]]) -> dict[str, list[dict[str, Any]]]:
    """Group a firm's matched products by node: node -> [{product, share, keywords}]."""
    out: dict[str, list[dict[str, Any]]] = {}
    for product, share in shares:
        for node_id, words in hits.get(product, {}).items():
            out.setdefault(node_id, []).append(
                {"product": product, "share": round(share, 6), "keywords": list(words)})
    return out
