"""Placement products (written by classification, read through corrections) and the
derived chain_firms table (chains.placements)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from chainatlas.build import apply_correction, refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.placements import placing_products, refresh_chain_firms
from chainatlas.chains.templates import load_templates
from chainatlas.store import SCHEMA_VERSION, Database
from chainatlas.store.migrations import MIGRATIONS
from chainatlas.store.query import compose, ident
from tests.helpers import NOW, add_firm

TEMPLATES = load_templates()


def products(db: Database, table: str = "placement_products") -> set[tuple[object, ...]]:
    return {tuple(r) for r in db.execute(compose(
        "SELECT company_id, node_id, product, share FROM {table} "
        "WHERE chain_id = 'biomedicine'", table=ident(table))).fetchall()}


@pytest.fixture
def classified() -> Database:
    db = Database()
    add_firm(db, "VAC", products={"流感疫苗": 0.7, "技术服务收入": 0.3})
    add_firm(db, "EVEN", products={"流感疫苗": 0.0, "狂犬疫苗": 0.0})  # 1/n each
    add_firm(db, "SMALL", products={"流感疫苗": 0.02, "房地产": 0.98})  # not placed
    add_firm(db, "SWONLY", shenwan="370101")  # placed without products
    classify_store(db, TEMPLATES)
    return db


def test_classification_writes_the_products_behind_placements(classified: Database) -> None:
    assert products(classified) == {("VAC", "bm_vaccines", "流感疫苗", 0.7),
                                    ("EVEN", "bm_vaccines", "流感疫苗", 0.5),
                                    ("EVEN", "bm_vaccines", "狂犬疫苗", 0.5)}
    assert classified.scalar("SELECT count(*) FROM placements WHERE company_id = 'SWONLY'")
    # the rows are exactly the products the evidence names, placement by placement
    from_json = {(r[0], r[1], p["product"], p["share"])
                 for r in classified.execute(
                     "SELECT company_id, node_id, evidence FROM placements "
                     "WHERE chain_id = 'biomedicine'").fetchall()
                 for p in json.loads(r[2]).get("products", [])}
    assert from_json == products(classified)
    assert placing_products(classified, "biomedicine") == {
        "VAC": (0.7, ["流感疫苗"]), "EVEN": (1.0, ["流感疫苗", "狂犬疫苗"])}


def test_corrections_void_a_placements_products(classified: Database) -> None:
    refresh_derived(classified)
    apply_correction(classified, "VAC", "biomedicine", "bm_vaccines", "unassign", "不做疫苗")
    assert "VAC" not in placing_products(classified, "biomedicine")
    assert ("VAC", "bm_vaccines", "流感疫苗", 0.7) not in products(
        classified, "firm_node_products")
    # the classifier's rows stay; a manual assignment names no products
    assert ("VAC", "bm_vaccines", "流感疫苗", 0.7) in products(classified)
    apply_correction(classified, "VAC", "biomedicine", "bm_vaccines", "assign", "确认")
    assert "VAC" not in placing_products(classified, "biomedicine")
    assert classified.scalar("SELECT method FROM firm_nodes WHERE company_id = 'VAC' "
                             "AND node_id = 'bm_vaccines'") == "manual"
    assert classified.scalar("SELECT count(*) FROM chain_firms WHERE company_id = 'VAC' "
                             "AND node_id = 'bm_vaccines'") == 1
    # retiring the correction brings the classifier's placement and its products back
    classified.execute("UPDATE corrections SET active = false")
    assert placing_products(classified, "biomedicine")["VAC"] == (0.7, ["流感疫苗"])


def test_placing_products_count_a_product_once_and_cap_at_one() -> None:
    db = Database()
    db.executemany("INSERT INTO placement_products VALUES ('X', 'c', ?, ?, ?)", [
        ("n1", "甲", 0.6), ("n1", "乙", 0.1), ("n2", "甲", 0.6), ("n2", "丙", 0.2),
        ("n3", "丁", 0.5)])
    db.execute("INSERT INTO placement_products VALUES ('Y', 'c', 'n2', '戊', 0.1)")
    db.execute("INSERT INTO placement_products VALUES ('Z', 'other', 'n1', '甲', 0.9)")
    everything = placing_products(db, "c")
    # 甲 placed X on n1 and n2 but counts once: 0.6 + 0.1 + 0.2 + 0.5 = 1.4, capped at 1
    assert everything == {"X": (1.0, ["甲", "丁", "丙", "乙"]), "Y": (0.1, ["戊"])}
    share, names = placing_products(db, "c", ["n1", "n2"])["X"]
    assert share == pytest.approx(0.6 + 0.1 + 0.2) and names == ["甲", "丙", "乙"]
    assert placing_products(db, "c", ["n2"]) == {"X": (pytest.approx(0.8), ["甲", "丙"]),
                                                 "Y": (0.1, ["戊"])}
    assert placing_products(db, "c", []) == {}


def test_chain_firms_fold_in_ancestors_with_the_first_year() -> None:
    db = Database()
    add_firm(db, "F")
    db.execute("UPDATE companies SET setup_date = ?, listing_date = ?, city_adcode = '130100' "
               "WHERE company_id = 'F'", [dt.date(2005, 3, 1), dt.date(2001, 6, 1)])
    add_firm(db, "TWIN")
    db.execute("UPDATE companies SET same_as = 'F' WHERE company_id = 'TWIN'")
    db.execute("INSERT INTO chains VALUES ('c', '链', 'Chain', NULL, 'c.yaml', '', ?)", [NOW])
    for i, (node, parent) in enumerate((("root", None), ("mid", "root"), ("leaf", "mid"))):
        db.execute("INSERT INTO chain_nodes VALUES ('c', ?, ?, ?, '上游', ?, ?, ?, ?, "
                   "'production')", [node, node, node, parent, i + 1, node == "leaf", i])
    for cid in ("F", "TWIN"):
        db.execute("INSERT INTO placements VALUES (?, 'c', 'leaf', 0.8, 'rules', '{}', ?)",
                   [cid, NOW])
    assert refresh_chain_firms(db) == 3  # the twin of a listed firm is left out
    rows = db.rows("SELECT node_id, direct, first_year, city_adcode FROM chain_firms "
                   "ORDER BY node_id")
    assert rows == [
        {"node_id": "leaf", "direct": True, "first_year": 2001, "city_adcode": "130100"},
        {"node_id": "mid", "direct": False, "first_year": 2001, "city_adcode": "130100"},
        {"node_id": "root", "direct": False, "first_year": 2001, "city_adcode": "130100"}]
    # a product listed without a revenue share (the knowledge graph's 0.001) is no share
    db.execute("INSERT INTO placement_products VALUES ('F', 'c', 'leaf', '电路板', 0.001)")
    refresh_chain_firms(db)
    assert db.scalar("SELECT product_share FROM chain_firms WHERE node_id = 'leaf'") is None
    db.execute("INSERT INTO placement_products VALUES ('F', 'c', 'leaf', '软板', 0.2)")
    refresh_chain_firms(db)
    assert db.scalar("SELECT product_share FROM chain_firms WHERE node_id = 'leaf'") == 0.2


def test_older_stores_get_placement_products_from_their_evidence(tmp_path: Path) -> None:
    path = tmp_path / "v4.duckdb"
    con = duckdb.connect(str(path))
    for migration in MIGRATIONS[:4]:
        for statement in migration.statements:
            con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '4')")
    evidence = {"signals": {"products": 0.9},
                "products": [{"product": "流感疫苗", "share": 0.7, "keywords": ["疫苗"]}]}
    con.execute("INSERT INTO placements VALUES ('VAC', 'biomedicine', 'bm_vaccines', 0.9, "
                "'rules', ?, now()), ('SW', 'biomedicine', 'bm_api', 0.55, 'rules', "
                "'{\"signals\": {\"shenwan\": 0.55}}', now())",
                [json.dumps(evidence, ensure_ascii=False)])
    con.close()
    with Database(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert products(store) == {("VAC", "bm_vaccines", "流感疫苗", 0.7)}
