"""Listed firms: a product line's share in its confidence, the deepest node, composite names."""

from __future__ import annotations

import pytest

from chainatlas.chains.classify import fold_parents
from chainatlas.chains.evidence import evidence_zh
from chainatlas.chains.matcher import ChainMatcher, composite_parts
from chainatlas.chains.signals import PLACE_THRESHOLD, Evidence, product_strength
from chainatlas.chains.templates import load_templates

TEMPLATES = load_templates()


def test_a_larger_line_is_stronger_even_past_a_quarter_of_revenue() -> None:
    assert product_strength(0.10) == pytest.approx(0.36)
    assert product_strength(0.25) == pytest.approx(0.9)
    # 中兴通讯: 62 % 运营商网络 must outweigh a 28 % 手机 line, both past a quarter.
    assert product_strength(0.28) < product_strength(0.62) < product_strength(1.0)
    assert product_strength(1.0) == pytest.approx(0.99)
    assert product_strength(3.0) == product_strength(1.0)  # double-counted segments
    assert product_strength(-0.2) == 0.0


def _products(share: float) -> list[dict[str, object]]:
    return [{"product": "x", "share": share, "keywords": ["x"]}]


def test_the_deeper_node_wins_over_the_parent_its_code_places() -> None:
    shenwan = {"code": "370201", "matched": "370201", "strength": 0.55}
    evidence = {("F", "bm_tcm"): Evidence(shenwan=shenwan),
                ("F", "bm_tcm_patent"): Evidence(products=_products(0.10)),
                ("F", "bm_tcm_pieces"): Evidence(products=_products(0.05)),
                ("G", "bm_tcm_patent"): Evidence(products=_products(0.30))}
    before = {key: ev.confidence() for key, ev in evidence.items()}
    fold_parents(evidence, TEMPLATES["biomedicine"])
    patent = evidence[("F", "bm_tcm_patent")]
    assert patent.parent == pytest.approx(0.55)
    assert patent.confidence() > before[("F", "bm_tcm")] > before[("F", "bm_tcm_patent")]
    assert "上级环节 0.55" in evidence_zh(patent.to_dict())
    # A node the firm's own evidence does not place stays unplaced; nor is support invented.
    assert evidence[("F", "bm_tcm_pieces")].parent is None
    assert evidence[("F", "bm_tcm_pieces")].confidence() < PLACE_THRESHOLD
    assert evidence[("G", "bm_tcm_patent")].parent is None
    assert evidence[("F", "bm_tcm")].parent is None


def test_composite_product_names_are_matched_as_their_parts() -> None:
    assert composite_parts("显示和传感器件业务") == ["显示和传感器件业务", "显示器件"]
    assert composite_parts("覆铜板和粘结片") == ["覆铜板和粘结片"]
    assert composite_parts("显示器件") == ["显示器件"]
    nodes = {h.node_id for h in ChainMatcher(TEMPLATES["electronics"]).match("显示和传感器件业务")}
    assert {"el_display_panels", "el_sensors"} <= nodes


def test_scope_items_are_the_evidence_of_a_registry_placement() -> None:
    ev = Evidence(scope_clauses=[{"clause": "计算机系统集成、综合布线", "keywords": ["系统集成"],
                                  "weight": 1.0, "activity": "service"}])
    assert evidence_zh(ev.to_dict()) == "经营范围：「计算机系统集成、综合布线」（系统集成）"
