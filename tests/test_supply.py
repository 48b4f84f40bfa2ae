"""The supply graph on hand-made stores: weights, supply edges, edge evidence, firm links,
PageRank (analysis.supply, and the store's product_weights view)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from chainatlas.analysis.supply import (
    edge_evidence,
    firm_links,
    pagerank_frame,
    refresh_supply,
)
from chainatlas.build import refresh_derived
from chainatlas.store import Database
from chainatlas.store.query import Q
from tests.helpers import NOW, add_firm


def relate(db: Database, source: str, target: str, relation: str) -> None:
    """A product relation between two named products."""
    ids = [db.scalar("SELECT product_id FROM products WHERE name = ?", [n])
           for n in (source, target)]
    db.execute("INSERT INTO product_relations VALUES (?, ?, ?, 1)", [*ids, relation])


def place(db: Database, cid: str, node: str, products: dict[str, float]) -> None:
    """A classifier placement on chain 't', with the products that placed it."""
    db.execute("INSERT INTO placements VALUES (?, 't', ?, 0.9, 'rules', '{}', ?)",
               [cid, node, NOW])
    for name, share in products.items():
        db.execute("INSERT INTO placement_products VALUES (?, 't', ?, ?, ?)",
                   [cid, node, name, share])


def weights(db: Database, cid: str) -> dict[str, float]:
    return {str(n): float(w) for n, w in db.execute(
        "SELECT p.name, w.w FROM product_weights w JOIN products p USING (product_id) "
        "WHERE w.company_id = ?", [cid]).fetchall()}


@pytest.fixture
def store() -> Database:
    """Steel maker S supplies car makers B and B2; chip designer M supplies phone maker P.

    S: 钢材 0.6, 废料 0.4; B: 汽车 0.8, 维修 0.2; B2: 汽车 1.0 (founded 2015).
    M: 芯片, 模组 without shares (1/2 each) and an offset of -0.1; P: 手机 1.0.
    汽车 -upstream_material-> 钢材 (钢材 supplies 汽车), 废料 -downstream_product-> 维修
    (废料 supplies 维修), 手机 -upstream_material-> 芯片.
    """
    db = Database()
    add_firm(db, "S", products={"钢材": 0.6, "废料": 0.4})
    add_firm(db, "B", products={"汽车": 0.8, "维修": 0.2})
    add_firm(db, "B2", products={"汽车": 1.0})
    add_firm(db, "M", products={"芯片": 0.0, "模组": 0.0, "抵销": -0.1})
    add_firm(db, "P", products={"手机": 1.0})
    relate(db, "汽车", "钢材", "upstream_material")
    relate(db, "废料", "维修", "downstream_product")
    relate(db, "手机", "芯片", "upstream_material")
    for cid, year, province in (("S", 2000, "130000"), ("B", 2001, "420000"),
                                ("B2", 2015, "420000"), ("M", 2002, "130000"),
                                ("P", 2003, "420000")):
        db.execute("UPDATE companies SET setup_date = ?, province_adcode = ? "
                   "WHERE company_id = ?", [dt.date(year, 1, 1), province, cid])
    db.execute("INSERT INTO chains VALUES ('t', '测试链', 'Test', NULL, 't.yaml', '', ?)",
               [NOW])
    for i, (node, stage) in enumerate((("steel", "上游"), ("car", "下游"))):
        db.execute("INSERT INTO chain_nodes VALUES ('t', ?, ?, ?, ?, NULL, 1, true, ?, "
                   "'production')", [node, node, node, stage, i])
    place(db, "S", "steel", {"钢材": 0.6})
    place(db, "B", "car", {"汽车": 0.8})
    place(db, "B2", "car", {})
    return db


def test_weights_are_shares_or_one_over_n(store: Database) -> None:
    assert weights(store, "S") == {"钢材": 0.6, "废料": 0.4}
    # no positive share: each of the two non-negative products counts 1/2; the offset
    # (negative share) is left out and does not count in n
    assert weights(store, "M") == {"芯片": 0.5, "模组": 0.5}
    # with a positive share, a missing one weighs 0; non-products are left out
    add_firm(store, "Z", products={"甲": 0.5, "乙": 0.0})
    store.execute("UPDATE products SET kind = 'accounting' WHERE name = '乙'")
    assert weights(store, "Z") == {"甲": 0.5}


def test_supply_edges_read_both_relations(store: Database) -> None:
    assert refresh_supply(store) == 3
    edges = {(r["supplier"], r["buyer"]): r for r in store.rows("SELECT * FROM firm_supply")}
    assert set(edges) == {("S", "B"), ("S", "B2"), ("M", "P")}  # supply has a direction
    sb = edges[("S", "B")]
    # 钢材→汽车 (upstream_material read backwards) 0.6 × 0.8, 废料→维修 (downstream_product
    # read forwards) 0.4 × 0.2; examples heaviest first
    assert sb["weight"] == pytest.approx(0.48 + 0.08)
    assert sb["relations"] == 2
    assert sb["examples"] == "钢材→汽车；废料→维修"
    assert edges[("S", "B2")]["weight"] == pytest.approx(0.6)
    assert edges[("M", "P")]["weight"] == pytest.approx(0.5)  # 1/n share of 芯片


def test_edge_evidence_counts_relations_and_firm_pairs(store: Database) -> None:
    every = edge_evidence(store, "t").to_dict("records")
    assert every == [{"source": "steel", "target": "car", "relations": 2, "firm_pairs": 2,
                      "examples": every[0]["examples"], "example": "钢材→汽车"}]
    assert set(every[0]["examples"].split("；")) == {"钢材→汽车", "废料→维修"}
    # as of 2010, B2 (founded 2015) is not there yet
    early = edge_evidence(store, "t", as_of=2010).iloc[0]
    assert (early["relations"], early["firm_pairs"]) == (2, 1)
    # only the products that placed the firms: 钢材→汽车 between S and B
    placing = edge_evidence(store, "t", products="placing").to_dict("records")
    assert [(r["relations"], r["firm_pairs"], r["example"]) for r in placing] == [
        (1, 1, "钢材→汽车")]


def test_firm_links_directions(store: Database) -> None:
    hebei = Q("l.province_adcode = ?", ("130000",))
    hubei = Q("l.province_adcode = ?", ("420000",))
    # the steel maker (placed through 钢材) supplies the Hubei car makers
    supplies = firm_links(store, "t", ["steel"], hubei)
    assert sorted(map(tuple, supplies.to_numpy().tolist())) == [
        ("S", "supplies", "B", "B", "钢材", "汽车", pytest.approx(0.48)),
        ("S", "supplies", "B2", "B2", "钢材", "汽车", pytest.approx(0.6))]
    assert list(supplies.columns) == ["candidate", "direction", "partner", "short_name", "up",
                                      "down", "weight"]
    # the car maker B buys steel from Hebei; B2 has no placing product, so no link; 废料 is
    # not a placing product of S either, and M's chips feed no car
    buys = firm_links(store, "t", ["car"], hebei).to_dict("records")
    assert buys == [{"candidate": "B", "direction": "buys", "partner": "S", "short_name": "S",
                     "up": "钢材", "down": "汽车", "weight": pytest.approx(0.48)}]
    assert firm_links(store, "t", [], hubei).empty


def test_pagerank_ranks_the_buyer_of_two_suppliers_first() -> None:
    edges = pd.DataFrame({"supplier": ["A", "B"], "buyer": ["C", "C"], "weight": [1.0, 1.0]})
    ranks = pagerank_frame(edges, ["A", "B", "C"]).set_index("company_id")["pagerank"]
    assert ranks["C"] > ranks["A"]
    assert ranks["A"] == pytest.approx(ranks["B"])
    assert ranks.sum() == pytest.approx(1.0)
    assert pagerank_frame(edges, []).empty


def test_centrality_per_chain(store: Database) -> None:
    counts = refresh_derived(store)
    assert counts["chain_firms"] == 3 and counts["chain_centrality"] == 3
    ranks = dict(store.execute("SELECT company_id, pagerank FROM chain_centrality "
                               "WHERE chain_id = 't'").fetchall())
    # both buyers outrank their supplier; S's heavier edge (0.6 against 0.56) goes to B2
    assert ranks["B2"] > ranks["B"] > ranks["S"]
