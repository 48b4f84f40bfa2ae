"""A placement's evidence: read from its stored JSON, and said in one line of Chinese.

The one reader of placement evidence JSON (profile, node firm lists, pages, exports) and
the one wording of it; which products placed a firm is a table (``placement_products``),
not read from here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: How a placement was made, in Chinese (the ``method`` column).
METHOD_NAMES = {"rules": "规则匹配", "model": "文本模型", "manual": "分析员校正"}
#: Scope items shown per firm (the clauses that placed it).
SCOPE_ITEMS = 3


def placing_scope_items(evidence: Any, limit: int = SCOPE_ITEMS) -> list[str]:
    """The business-scope items (clauses) that placed a firm, from its evidence (JSON
    text or dict), distinct, first ones first; [] for a firm placed otherwise."""
    found = [str(c["clause"]) for c in _scope_clauses(evidence_from_json(evidence))
             if c.get("clause")]
    return list(dict.fromkeys(found))[:limit]


def _scope_clauses(evidence: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in evidence.get("scope_clauses") or [] if isinstance(c, Mapping)]


def evidence_zh(evidence: Mapping[str, Any]) -> str:
    """One line of Chinese text summarising a placement's evidence JSON.

    Products with revenue share and matched keywords, Shenwan and GB/T industries, the
    business-scope items that placed the firm (or their keywords), the text model's
    probability, the support of its placement on an ancestor node and analysts'
    corrections.
    """
    parts: list[str] = []
    products = evidence.get("products") or []
    if products:
        shown = []
        for p in products[:3]:
            keys = "、".join(str(k) for k in p.get("keywords", [])[:2])
            share = float(p.get("share") or 0.0)
            hint = f"，关键词 {keys}" if keys else ""
            shown.append(f"{p.get('product')}（{share:.0%}{hint}）")
        more = f" 等 {len(products)} 项" if len(products) > 3 else ""
        parts.append("产品：" + "、".join(shown) + more)
    for key, name in (("shenwan", "申万"), ("gbt", "国标")):
        info = evidence.get(key)
        if isinstance(info, Mapping):
            label = info.get("name") or info.get("matched") or info.get("code")
            parts.append(f"{name}：{label}（{info.get('code') or info.get('matched')}）")
    clauses = _scope_clauses(evidence)
    if clauses:
        # The registry firm's own words: the scope items that placed it, first ones first.
        shown = [f"「{str(c.get('clause', ''))[:30]}」"
                 f"（{'、'.join(map(str, c.get('keywords', [])[:3]))}）" for c in clauses[:2]]
        parts.append("经营范围：" + "；".join(shown))
    elif evidence.get("scope_keywords"):
        parts.append("经营范围：" + "、".join(str(k) for k in evidence["scope_keywords"][:4]))
    if evidence.get("model_probability") is not None:
        parts.append(f"文本模型 {float(evidence['model_probability']):.2f}")
    parent = (evidence.get("signals") or {}).get("parent")
    if parent:
        parts.append(f"上级环节 {float(parent):.2f}")
    correction = evidence.get("correction")
    if isinstance(correction, Mapping):
        parts.append(f"分析员校正：{correction.get('reason')}（{correction.get('author')}）")
    return "；".join(parts) or "—"


def evidence_from_json(raw: Any) -> dict[str, Any]:
    """Evidence as a dict, whether stored as JSON text or already parsed."""
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        parsed = json.loads(str(raw))
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}
