"""The links of a target firm into the region's chain (recommend.target_links): template
edges read from the one direction model, product and scope links, on hand-made chains
and firms; and, on the real mirror, every node of every chain in 50 cities."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from chainatlas.analysis.regional import region_profile
from chainatlas.build import refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.direction import WORDS_ZH, directions_from_edges, directions_from_store
from chainatlas.chains.templates import load_templates
from chainatlas.recommend.target_links import (
    EDGE_IMPORTANCE,
    EDGES_COUNTED,
    SCOPE_IMPORTANCE,
    agrees,
    link_partners,
    links_value,
    merge_links,
    node_standing,
    produced_names,
    scope_links,
    template_links,
)
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, ChainNode, as_chain, region_from_text
from tests.helpers import add_firm

# A chain: A (materials) -> B (makers) -> C (shops, retail); D and E also feed B; F feeds A.
KINDS = {"A": "production", "B": "production", "C": "retail", "D": "production",
         "E": "production", "F": "production", "G": "production"}
EDGES = [("A", "B"), ("B", "C"), ("D", "B"), ("E", "B"), ("F", "B"), ("G", "B")]


def _chain() -> Chain:
    nodes = tuple(ChainNode(node_id=n, name_zh=f"{n}环节", name_en=n, stage="中游", parent=None,
                            level=1, is_leaf=True, ord=i, kind=k)
                  for i, (n, k) in enumerate(KINDS.items()))
    return Chain("toy", "玩具链", "Toy", None, nodes)


def _standing(**classes: str) -> dict[str, dict[str, Any]]:
    return {n: {"class": c, "lq": 2.0 if c == "强" else 0.5, "local_firms": 3,
                "firms": [f"{n}甲", f"{n}乙"]} for n, c in classes.items()}


DIRECTIONS = directions_from_edges({n: None for n in KINDS}, EDGES)


def test_edges_name_the_local_node_in_the_template_direction() -> None:
    standing = _standing(A="弱", B="强", C="强", D="缺")
    links = template_links(DIRECTIONS, {"onA": ["A"], "onB": ["B"], "onC": ["C"]},
                           standing, _chain())
    [to_b] = links["onA"]
    assert (to_b["side"], to_b["local_node"], to_b["position"]) == ("supplies", "B", "upstream")
    assert to_b["position_zh"] == WORDS_ZH["upstream"] == "上游"
    assert to_b["contribution"] == EDGE_IMPORTANCE["强"] and to_b["firms"] == ["B甲", "B乙"]
    # B buys from A (weak there); C is a shop node and D has no local firm: no link
    [from_a] = links["onB"]
    assert (from_a["side"], from_a["local_node"], from_a["position"]) == (
        "buys", "A", "downstream")
    assert from_a["contribution"] == EDGE_IMPORTANCE["弱"]
    # C sits downstream of strong B: a retail firm links to the makers it sells for
    assert [(x["local_node"], x["side"]) for x in links["onC"]] == [("B", "buys")]


def test_only_the_strongest_edges_count() -> None:
    standing = _standing(A="强", D="强", E="强", F="弱", G="强")
    [links] = template_links(DIRECTIONS, {"onB": ["B"]}, standing, _chain()).values()
    assert len(links) == 5 and len(links) > EDGES_COUNTED
    counted = [x["contribution"] for x in links[:EDGES_COUNTED]]
    assert counted == [EDGE_IMPORTANCE["强"]] * EDGES_COUNTED
    assert [x["contribution"] for x in links[EDGES_COUNTED:]] == [0.0, 0.0]
    assert links[-1]["local_node"] == "F"  # the weak one ranks last
    assert links_value(links) == pytest.approx(1 - (1 - EDGE_IMPORTANCE["强"]) ** 3)


def test_firms_on_two_nodes_get_one_link_per_local_node() -> None:
    standing = _standing(B="强")
    links = template_links(DIRECTIONS, {"x": ["A", "D"]}, standing, _chain())["x"]
    assert [(x["node"], x["local_node"]) for x in links] == [("A", "B")]


def test_product_links_agree_with_the_template_or_are_dropped() -> None:
    assert agrees(DIRECTIONS, "supplies", ["A"], ["B"])
    assert not agrees(DIRECTIONS, "buys", ["A"], ["B"])
    assert agrees(DIRECTIONS, "buys", ["A"], [])  # a partner off the chain: no direction
    assert agrees(DIRECTIONS, "buys", ["A"], ["A"])  # the same node: no direction
    assert agrees(DIRECTIONS, "buys", ["A", "C"], ["B"])  # one pair agrees


def test_link_partners_noisy_or() -> None:
    rows = [("A", "supplies", "L1", "本地链主", "甲", "乙", 0.02, "leader", 1),
            ("A", "buys", "L2", "本地其他", "丙", "丁", 0.01, "other", None),
            ("A", "buys", "L2", "本地其他", "戊", "丁", 0.01, "other", None)]
    frame = pd.DataFrame(rows, columns=["candidate", "direction", "partner", "short_name",
                                        "up", "down", "weight", "role", "leader_rank"])
    frame["leader_rank"] = frame["leader_rank"].astype("Int64")
    leader, other = link_partners(frame)["A"]
    assert (leader["company_id"], leader["role"], leader["side"]) == ("L1", "leader", "supplies")
    assert leader["contribution"] == round(1 - math.exp(-1), 4)
    assert (other["relations"], other["examples"]) == (2, ["丙→丁", "戊→丁"])
    assert other["contribution"] == round(0.4 * (1 - math.exp(-1)), 4)
    assert link_partners(frame.iloc[0:0]) == {}


def test_merge_and_standing() -> None:
    a, b = {"x": [{"contribution": 0.1}]}, {"x": [{"contribution": 0.2}], "y": []}
    merged = merge_links(a, b)
    assert [x["contribution"] for x in merged["x"]] == [0.1, 0.2] and merged["y"] == []
    profile = {"nodes": [{"node_id": "A", "class": "强", "lq": 1.5, "local_firms": 4,
                          "local_leaders": [{"company_id": "1", "short_name": "甲"},
                                            {"company_id": "2", "short_name": "乙"},
                                            {"company_id": "3", "short_name": "丙"}]}]}
    assert node_standing(profile)["A"]["firms"] == ["甲", "乙"]
    assert node_standing(profile, skip=["1"])["A"]["firms"] == ["乙", "丙"]


def test_produced_names_reads_only_what_the_scope_makes() -> None:
    scope = "生产：维生素C、片剂；销售：淀粉；兼营：胶囊剂的加工"
    names = ["淀粉", "片剂", "维生素C", "胶囊剂", "颗粒剂"]
    assert produced_names(scope, names) == ["片剂", "维生素C", "胶囊剂"]
    assert produced_names(None, names) == [] and produced_names(scope, []) == []


# --------------------------------------------------------------------------- scope links


def _relate(db: Database, product: str, upstream: str) -> None:
    ids = dict(db.execute("SELECT name, product_id FROM products").fetchall())
    db.execute("INSERT INTO product_relations VALUES (?, ?, 'upstream_material', 1)",
               [ids[product], ids[upstream]])


@pytest.fixture(scope="module")
def scope_db() -> Database:
    """石家庄: a listed tablet maker and a registry tablet maker; outside: a listed vitamin
    maker, a registry vitamin maker (in scope) and a registry firm that only sells them."""
    db = Database()
    db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, 1)", [
        ("130000", "河北省", "province", None, "130000", 114.5, 38.0),
        ("130100", "石家庄市", "city", "130000", "130000", 114.51, 38.04),
        ("320000", "江苏省", "province", None, "320000", 118.76, 32.06),
        ("320500", "苏州市", "city", "320000", "320000", 120.59, 31.30)])
    firms = [("LEAD", "listed", "130100", {"片剂": 0.9}, None),
             ("SUP", "listed", "320500", {"维生素C": 0.9}, None),
             ("R_MAKER", "registry", "320500", None, "维生素C的生产、销售"),
             ("R_SELLER", "registry", "320500", None, "维生素C的批发、零售"),
             ("R_TABLET", "registry", "130100", None, "片剂的生产")]
    for cid, origin, city, products, scope in firms:
        add_firm(db, cid, products=products, scope=scope)
        db.execute("UPDATE companies SET origin = ?, city_adcode = ?, region_adcode = ?, "
                   "province_adcode = left(?, 2) || '0000', setup_date = ? "
                   "WHERE company_id = ?", [origin, city, city, city, dt.date(2000, 1, 1), cid])
    add_firm(db, "X", products={"淀粉": 0.5})  # a product the relations name, no firm place
    _relate(db, "片剂", "维生素C")
    classify_store(db, load_templates())
    refresh_derived(db)
    return db


def test_scope_items_link_registry_firms_both_ways(scope_db: Database) -> None:
    region = region_from_text(scope_db, "石家庄市")
    chain = as_chain(scope_db, "biomedicine")
    candidates = pd.DataFrame({"company_id": ["SUP", "R_MAKER", "R_SELLER"],
                               "origin": ["listed", "registry", "registry"]})
    links = scope_links(scope_db, region, chain, chain.node_ids, candidates, None, "all")
    # the registry maker's scope makes 维生素C, an input of the local leader's 片剂
    [maker] = links["R_MAKER"]
    assert (maker["company_id"], maker["side"], maker["in_scope_of"]) == (
        "LEAD", "supplies", "candidate")
    assert maker["examples"] == ["维生素C→片剂"] and maker["contribution"] == SCOPE_IMPORTANCE
    # a seller of 维生素C makes nothing: no link
    assert "R_SELLER" not in links
    # the local registry tablet maker's scope makes what SUP's 维生素C goes into
    [tablet] = links["SUP"]
    assert (tablet["company_id"], tablet["side"], tablet["in_scope_of"]) == (
        "R_TABLET", "supplies", "partner")


# --------------------------------------------------------------------------- real mirror


def test_every_edge_of_every_chain_in_50_cities_agrees_with_the_template(
        real_db: Database) -> None:
    cities = [r[0] for r in real_db.execute(
        "SELECT city_adcode FROM companies WHERE city_adcode IS NOT NULL GROUP BY 1 "
        "ORDER BY count(*) DESC, 1 LIMIT 50").fetchall()]
    assert len(cities) == 50
    checked = 0
    for (chain_id,) in real_db.execute("SELECT chain_id FROM chains ORDER BY 1").fetchall():
        chain = as_chain(real_db, chain_id)
        directions = directions_from_store(real_db, chain)
        kinds = {n.node_id: n.kind for n in chain.nodes}
        every = {n.node_id: [n.node_id] for n in chain.nodes}
        for city in cities:
            profile = region_profile(real_db, region_from_text(real_db, city), chain)
            standing = node_standing(profile)
            for node, links in template_links(directions, every, standing, chain).items():
                assert links
                for link in links:
                    checked += 1
                    assert link["position"] == directions.of(node, link["local_node"])
                    assert link["position"] is not None
                    expected = "upstream" if link["side"] == "supplies" else "downstream"
                    assert link["position"] == expected
                    assert kinds[link["local_node"]] == "production"
                    assert standing[link["local_node"]]["class"] in ("强", "弱")
                    assert link["local_node"] not in (node, *chain.ancestors(node))
    assert checked > 0
