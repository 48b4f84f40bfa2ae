"""Firm -> node classification: signals, evidence, model, corrections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainatlas.build import apply_correction, build_store, classify
from chainatlas.chains.classify import ScopeClassifier, classify_store, firms_from_db
from chainatlas.chains.corrections import correct
from chainatlas.chains.matcher import ChainMatcher, ScopeMatcher
from chainatlas.chains.signals import (
    PLACE_THRESHOLD,
    Evidence,
    gbt_strength,
    noisy_or,
    shenwan_strength,
)
from chainatlas.chains.templates import load_templates
from chainatlas.chains.textmodel import fit_text_model
from chainatlas.errors import NotFoundError
from chainatlas.store import Database
from tests.helpers import add_firm, unpinned_bundle

TEMPLATES = load_templates()


def test_signal_strengths() -> None:
    assert shenwan_strength("370101", ["370101"]) == (0.55, "370101")
    assert shenwan_strength("370101", ["370100"]) == (0.45, "370100")
    assert shenwan_strength("370101", ["370000"]) == (0.30, "370000")
    assert shenwan_strength("270101", ["370101"]) == (0.0, None)
    assert gbt_strength("2761", ["2761"]) == (0.60, "2761")
    assert gbt_strength("276", ["2761"]) == (0.35, "2761")
    assert gbt_strength("27", ["2761"]) == (0.20, "2761")
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)


def test_firms_read_product_weights_from_the_store(db: Database) -> None:
    add_firm(db, "POS", products={"a": -0.1, "b": 0.6, "c": 0.0})
    add_firm(db, "MISSING", products={"d": 0.0})
    pid = int(db.scalar("SELECT max(product_id) + 1 FROM products"))
    db.execute("INSERT INTO products VALUES (?, 'e', 'product', 1)", [pid])
    db.execute("INSERT INTO company_products VALUES ('MISSING', ?, NULL, false, 1)", [pid])
    firms = {f.company_id: f.products for f in firms_from_db(db)}
    # a positive share: only positive shares count; negative and zero ones carry nothing
    assert firms["POS"] == [("b", 0.6)]
    # no positive share: each of the (non-negative) products counts 1/n
    assert sorted(firms["MISSING"]) == [("d", 0.5), ("e", 0.5)]


def test_matcher_exclusions_void_only_their_clause() -> None:
    matcher = ChainMatcher(TEMPLATES["biomedicine"])
    assert "bm_vaccines" in {h.node_id for h in matcher.match("流感疫苗")}
    assert "bm_vaccines" not in {h.node_id for h in matcher.match("兽用疫苗")}
    scope = ScopeMatcher({"biomedicine": TEMPLATES["biomedicine"]})
    hits = scope.match("兽用疫苗销售；人用狂犬疫苗生产")
    assert sorted(hits[("biomedicine", "bm_vaccines")]) == ["狂犬疫苗", "疫苗"]
    # catalogue boilerplate places nobody
    assert ScopeMatcher(TEMPLATES).match("技术服务、技术开发；软件开发；会议及展览服务") == {}
    # case-sensitive: CRO must not match "micro"
    assert not ChainMatcher(TEMPLATES["biomedicine"]).match("microelectronics")


@pytest.fixture
def hand_db() -> Database:
    db = Database()
    add_firm(db, "VAC", products={"流感疫苗": 0.7, "技术服务收入": 0.3})
    add_firm(db, "API", shenwan="370101", products={"维生素C": 0.9})
    add_firm(db, "SWONLY", shenwan="370101")
    add_firm(db, "SMALL", products={"流感疫苗": 0.02, "房地产": 0.98})
    add_firm(db, "ICD", gbt="6520", scope="集成电路设计；芯片设计；技术服务")
    add_firm(db, "NONE", products={"房地产": 1.0})
    return db


def placements(db: Database) -> dict[tuple[str, str, str], dict[str, object]]:
    return {(r["company_id"], r["chain_id"], r["node_id"]): r
            for r in db.rows("SELECT * FROM firm_nodes")}


def test_hand_made_firms_land_on_known_nodes(hand_db: Database) -> None:
    classify_store(hand_db, TEMPLATES)
    got = placements(hand_db)
    assert ("VAC", "biomedicine", "bm_vaccines") in got
    assert ("API", "biomedicine", "bm_api") in got
    assert got[("API", "biomedicine", "bm_api")]["confidence"] > \
        got[("SWONLY", "biomedicine", "bm_api")]["confidence"]
    assert ("ICD", "electronics", "el_ic_design") in got
    assert not any(k[0] in {"SMALL", "NONE"} for k in got)  # 2 % of revenue is not enough


def test_every_placement_carries_evidence(hand_db: Database) -> None:
    classify_store(hand_db, TEMPLATES)
    for row in hand_db.rows("SELECT * FROM placements"):
        evidence = json.loads(str(row["evidence"]))
        assert evidence["signals"], row
        assert 0 <= float(row["confidence"]) <= 1
        assert float(row["confidence"]) >= PLACE_THRESHOLD
    vac = json.loads(str(hand_db.scalar(
        "SELECT evidence FROM placements WHERE company_id = 'VAC' AND node_id = 'bm_vaccines'")))
    assert vac["products"][0]["product"] == "流感疫苗"
    assert vac["products"][0]["share"] == 0.7
    icd = json.loads(str(hand_db.scalar(
        "SELECT evidence FROM placements WHERE company_id = 'ICD' AND node_id = 'el_ic_design'")))
    assert icd["gbt"]["matched"] == "6520" and "集成电路设计" in icd["scope_keywords"]


def test_evidence_confidence_is_noisy_or() -> None:
    ev = Evidence(products=[{"product": "x", "share": 0.25, "keywords": ["x"]}],
                  shenwan={"code": "370101", "matched": "370101", "strength": 0.55})
    assert ev.confidence() == pytest.approx(1 - (1 - 0.9) * (1 - 0.55), abs=1e-4)
    assert ev.method() == "rules"
    assert Evidence(model_probability=0.9).method() == "model"
    assert Evidence(model_probability=0.4).confidence() == 0.0


def test_text_model_places_scope_only_firms() -> None:
    texts = ["流感疫苗；狂犬疫苗", "维生素C；头孢菌素", "集成电路设计；芯片设计",
             "房地产；物业"] * 4
    labels = [["biomedicine:bm_vaccines"], ["biomedicine:bm_api"],
              ["electronics:el_ic_design"], []] * 4
    model = fit_text_model(texts, labels)
    assert model is not None
    best = model.top_labels(["主要从事流感疫苗的研发"], threshold=0.3)[0]
    assert best[0][0] == "biomedicine:bm_vaccines"
    result = ScopeClassifier(TEMPLATES, model).classify(["狂犬疫苗的生产与销售", "物业管理"])
    assert ("biomedicine", "bm_vaccines") in {(c, n) for c, n, _ in result[0]}
    assert result[1] == []
    # no keyword of any node, yet the model recognises a cephalosporin maker
    fallback = ScopeClassifier(TEMPLATES, model)
    placed = fallback.classify(["头孢克肟"])[0]
    assert ("biomedicine", "bm_api") in {(c, n) for c, n, _ in placed}
    evidence = fallback.evidence(["头孢克肟"])[0][("biomedicine", "bm_api")]
    assert evidence.method() == "model"


def test_corrections_apply_and_survive_rebuild(mini_bundle: Path) -> None:
    db = Database()
    build_store(db, unpinned_bundle(mini_bundle))
    with pytest.raises(NotFoundError, match="no node"):
        correct(db, "以岭药业", "biomedicine", "bm_nope", "assign", "x")
    # Chinese chain and node names work as well as ids
    apply_correction(db, "002603", "生物医药", "人用疫苗", "assign", "药监局批文", "analyst")
    assert db.scalar("SELECT count(*) FROM chain_firms WHERE company_id = '002603.SZ' "
                     "AND node_id = 'bm_vaccines'") == 1
    auto = db.rows("SELECT node_id FROM placements WHERE company_id = '600812.SH' "
                   "AND chain_id = 'biomedicine'")
    assert auto, "华北制药 should be placed by its products"
    node = str(auto[0]["node_id"])
    apply_correction(db, "华北制药", "biomedicine", node, "unassign", "已剥离该业务")
    for _ in range(2):  # a rebuild reclassifies everything; corrections stay on top
        got = placements(db)
        manual = got[("002603.SZ", "biomedicine", "bm_vaccines")]
        assert manual["method"] == "manual" and manual["confidence"] == 1.0
        assert "药监局批文" in str(manual["evidence"])
        assert ("600812.SH", "biomedicine", node) not in got
        assert ("600812.SH", "biomedicine", node) in {
            (r["company_id"], r["chain_id"], r["node_id"])
            for r in db.rows("SELECT * FROM placements")}
        build_store(db, unpinned_bundle(mini_bundle))
    # re-assigning retires the unassignment, which stays on record
    correct(db, "华北制药", "biomedicine", node, "assign", "恢复")
    assert db.scalar("SELECT count(*) FROM corrections WHERE NOT active") == 1
    assert ("600812.SH", "biomedicine", node) in placements(db)


def test_classify_uses_user_chain_dirs(mini_db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "chains"
    folder.mkdir()
    (folder / "mini.yaml").write_text(
        "id: mini\nname_zh: 迷你链\nname_en: Mini\nnodes:\n"
        "  - {id: up, name_zh: 上游材料, name_en: Up, stage: 上游, keywords: [光纤]}\n"
        "  - {id: down, name_zh: 线缆, name_en: Down, stage: 下游, keywords: [架空地线]}\n"
        "edges:\n  - {from: up, to: down}\n", encoding="utf-8")
    mini_db.set_setting("chains_dir", str(folder))
    summary = classify(mini_db)
    assert "mini" in summary
    assert ("300265.SZ", "mini", "down") in placements(mini_db)


def test_empty_store_stores_templates_and_no_placements() -> None:
    db = Database()
    assert classify_store(db, TEMPLATES)["biomedicine"]["placements"] == 0
    assert db.scalar("SELECT count(*) FROM placements") == 0
    assert db.scalar("SELECT count(*) FROM chain_nodes WHERE chain_id = 'biomedicine'") == \
        len(TEMPLATES["biomedicine"].nodes)


TIED = ("原料药制剂", "化学原料药", "中成药")  # equal shares, two on one node: a tie


def _bundle_with_ties(folder: Path, reverse: bool) -> Path:
    """The small bundle plus tied product lines; ``reverse``: every file's rows reversed
    (the same data, read in another order)."""
    from tests.helpers import make_bundle

    make_bundle(folder)
    kg = folder / "chainkg"
    with (kg / "company_product.json").open("a", encoding="utf-8") as out:
        for name in TIED:
            out.write(json.dumps({"company_name": "以岭药业", "company_code": "002603.SZ",
                                  "product_name": name, "rel": "主营产品", "rel_weight": 0.2},
                                 ensure_ascii=False) + "\n")
    with (kg / "product.json").open("a", encoding="utf-8") as out:
        out.writelines(json.dumps({"name": n}, ensure_ascii=False) + "\n" for n in TIED)
    if reverse:
        for path in kg.glob("*.json"):
            lines = path.read_text(encoding="utf-8").splitlines()
            path.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    return folder


def _placements(db: Database) -> list[tuple[object, ...]]:
    """Every placement with its evidence JSON text, in stored row order."""
    return db.execute("SELECT company_id, chain_id, node_id, confidence, method, evidence "
                      "FROM placements").fetchall()


def test_two_builds_of_the_same_data_store_the_same_evidence(tmp_path: Path) -> None:
    """Evidence JSON (and so every reason text) is byte-for-byte the same, whatever order
    the files list their rows in (issue 10, point 9)."""
    stores = []
    for reverse in (False, True):
        store = Database(tmp_path / f"{reverse}.duckdb")
        build_store(store, unpinned_bundle(_bundle_with_ties(tmp_path / f"b{reverse}", reverse)))
        stores.append(store)
    first, second = (_placements(s) for s in stores)
    assert first and first == second
    ties = [json.loads(str(r[5])) for r in first if r[0] == "002603.SZ"]
    assert any(len(e.get("products", [])) > 1 for e in ties)  # the tied lines are compared
    products = [s.execute("SELECT * FROM placement_products").fetchall() for s in stores]
    assert products[0] == products[1]


def test_gbt_classes_do_not_follow_row_order() -> None:
    """The text model's cache key hashes the GB/T classes: the same classes inserted in
    another order give the same list."""
    from chainatlas.chains.classify import gbt_classes

    rows = [("gbt2017", c, f"类{c}", 4, None, None, 1) for c in ("2761", "2710", "3973")]
    lists = []
    for order in (rows, rows[::-1]):
        store = Database()
        store.executemany("INSERT INTO industries (scheme, code, name, level, parent, "
                          "remark, source_id) VALUES (?, ?, ?, ?, ?, ?, ?)", order)
        lists.append(gbt_classes(store))
    assert lists[0] == lists[1] and [c for c, _, _ in lists[0]] == ["2710", "2761", "3973"]


def test_building_a_data_centre_is_no_cloud_product() -> None:
    matcher = ChainMatcher(TEMPLATES["electronics"])
    nodes = {name: {h.node_id for h in matcher.match(name)} for name in (
        "信息化数据中心", "数据中心系统建设", "智能建筑与数据中心工程", "数据中心业务",
        "IDC数据中心")}
    assert "el_cloud_ai" not in nodes["信息化数据中心"] | nodes["数据中心系统建设"] | nodes[
        "智能建筑与数据中心工程"]
    assert "el_cloud_ai" in nodes["数据中心业务"] & nodes["IDC数据中心"]
