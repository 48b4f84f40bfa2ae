"""Node recommendation (补链 / 延链 / 强链) and relatedness density on hand-made regions.

A tiny chain written for the test keeps the keywords under control:

    甲原料 -> 乙部件 -> 丙整机 -> 丁服务      戊配件 -> 丙整机      己孤件 (no edge)
    庚系统 = {庚一, 庚二}

City A (石家庄) holds 甲原料, 丙整机 and 庚一 strongly (their only firms nationally make each
a node leader) and one small 戊配件 firm among twelve (弱). 乙部件 is the gap between two
strong nodes, 丁服务 lies past the chain's end (its only A firm was founded in 2016, so it is
missing in the 2010 view), 己孤件 is isolated and 庚二 sits in a strong parent's subtree.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from chainatlas.analysis.weights import NODE_WEIGHTS
from chainatlas.build import refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.templates import load_template
from chainatlas.errors import NotFoundError
from chainatlas.recommend.nodes import (
    ChainContext,
    chain_context,
    combine_links,
    density_percentile,
    rank_nodes,
    score_node_candidates,
    supply_links,
)
from chainatlas.recommend.relatedness import presence_matrix, proximity, relatedness_density
from chainatlas.store import Database
from chainatlas.store.lookup import NodeTree, Region, region_from_text
from tests.helpers import add_firm

TINY = """
id: tiny
name_zh: 小链
name_en: Tiny chain
nodes:
  - {id: tn_a, name_zh: 甲原料, name_en: A, stage: 上游, keywords: [甲原料]}
  - {id: tn_x, name_zh: 己孤件, name_en: X, stage: 上游, keywords: [己孤件]}
  - {id: tn_b, name_zh: 乙部件, name_en: B, stage: 中游, keywords: [乙部件]}
  - {id: tn_w, name_zh: 戊配件, name_en: W, stage: 中游, keywords: [戊配件]}
  - {id: tn_c, name_zh: 丙整机, name_en: C, stage: 中游, keywords: [丙整机]}
  - {id: tn_d, name_zh: 丁服务, name_en: D, stage: 下游, keywords: [丁服务]}
  - {id: tn_g, name_zh: 庚系统, name_en: G, stage: 中游}
  - {id: tn_g1, name_zh: 庚一, name_en: G1, stage: 中游, parent: tn_g, keywords: [庚一]}
  - {id: tn_g2, name_zh: 庚二, name_en: G2, stage: 中游, parent: tn_g, keywords: [庚二]}
edges:
  - {from: tn_a, to: tn_b}
  - {from: tn_b, to: tn_c}
  - {from: tn_c, to: tn_d}
  - {from: tn_w, to: tn_c}
"""
REGIONS = [("130000", "河北省", "province", None), ("130100", "石家庄市", "city", "130000"),
           ("130102", "长安区", "district", "130100"), ("130200", "唐山市", "city", "130000"),
           ("320000", "江苏省", "province", None), ("320500", "苏州市", "city", "320000")]
# firm id, short name, city, product, registered capital, setup year
FIRMS = [
    ("A_A", "甲源科技", "130100", "甲原料", 500.0, 2001),
    ("A_C", "丙机股份", "130100", "丙整机", 500.0, 2002),
    ("A_G1", "庚一电子", "130100", "庚一", 500.0, 2003),
    ("A_W", "小戊配件", "130100", "戊配件", 1.0, 2004),
    ("A_D", "丁新服务", "130100", "丁服务", 500.0, 2016),
    ("B_A", "唐甲", "130200", "甲原料", 100.0, 2000),
    ("B_B", "唐乙", "130200", "乙部件", 100.0, 2000),
    ("B_C", "唐丙", "130200", "丙整机", 100.0, 2000),
    ("S_X", "苏己", "320500", "己孤件", 100.0, 2000),
    ("S_D", "苏丁", "320500", "丁服务", 100.0, 2000),
    ("S_G2", "苏庚二", "320500", "庚二", 100.0, 2000),
    *[(f"S_W{i}", f"苏戊{i}", "320500", "戊配件", 100.0 + i, 2000) for i in range(11)],
]


def _build(folder: Path, template: str = TINY) -> Database:
    path = folder / "tiny.yaml"
    path.write_text(template, encoding="utf-8")
    db = Database()
    for adcode, name, level, parent in REGIONS:
        db.execute("INSERT INTO regions VALUES (?, ?, ?, ?, ?, 0, 0, 1)",
                   [adcode, name, level, parent, adcode[:2] + "0000"])
    for cid, short, city, product, capital, year in FIRMS:
        add_firm(db, cid, products={product: 0.9})
        district = "130102" if cid == "A_C" else city
        db.execute("UPDATE companies SET origin = 'listed', short_name = ?, city_adcode = ?, "
                   "region_adcode = ?, province_adcode = left(?, 2) || '0000', "
                   "registered_capital = ?, setup_date = make_date(?, 1, 1) "
                   "WHERE company_id = ?", [short, city, district, city, capital, year, cid])
    ids = dict(db.execute("SELECT name, product_id FROM products").fetchall())
    # product evidence: 丙整机 feeds 丁服务 (as the template says), 甲原料 feeds 戊配件 (an
    # edge the template lacks) and 丙整机 feeds 乙部件 (against the template's direction)
    for down, up in (("丁服务", "丙整机"), ("戊配件", "甲原料"), ("乙部件", "丙整机")):
        db.execute("INSERT INTO product_relations VALUES (?, ?, 'upstream_material', 1)",
                   [ids[down], ids[up]])
    classify_store(db, {"tiny": load_template(path)})
    refresh_derived(db)
    return db


@pytest.fixture
def tiny_db(tmp_path: Path) -> Database:
    return _build(tmp_path)


def _by_node(ranked: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["node_id"]: r for r in ranked}


def test_relatedness_density_by_hand() -> None:
    # A: x, y; B: x, y; C: x, z; nobody has w. Every present cell has RCA >= 1, so
    # Mcp = presence; ubiquity x 3, y 2, z 1; co-occurrence xy 2, xz 1, yz 0;
    # phi = co-occurrence / max(ubiquity): phi_xy = 2/3, phi_xz = 1/3, phi_yz = 0.
    counts = pd.DataFrame({"x": [1, 1, 1], "y": [1, 1, 0], "z": [0, 0, 1], "w": [0, 0, 0]},
                          index=pd.Index(["A", "B", "C"], name="city_adcode"))
    out = relatedness_density(counts).set_index(["city_adcode", "node_id"])
    assert out.loc[("A", "z"), "density"] == pytest.approx((1 / 3) / (1 / 3 + 0 + 1))
    assert out.loc[("C", "y"), "density"] == pytest.approx((2 / 3) / (2 / 3 + 1 + 0))
    assert out.loc[("A", "x"), "density"] == pytest.approx((1 + 2 / 3) / (1 + 2 / 3 + 1 / 3))
    assert out.loc[("C", "z"), "rca"] == pytest.approx((1 / 2) / (1 / 6))
    assert (out.xs("w", level="node_id")[["rca", "mcp", "density"]] == 0).all().all()
    assert out.loc[("B", "z"), "mcp"] == 0
    phi = proximity(counts)
    assert phi.loc["x", "y"] == pytest.approx(2 / 3) and phi.loc["y", "z"] == 0
    assert phi.loc["w", "w"] == 1 and phi.loc["w", "x"] == 0


def test_relatedness_density_degenerate_inputs() -> None:
    one = pd.DataFrame({"x": [2], "y": [0]}, index=pd.Index(["A"], name="city_adcode"))
    out = relatedness_density(one).set_index("node_id")
    assert out.loc["x", "mcp"] == 1 and out.loc["x", "density"] == pytest.approx(1.0)
    assert out.loc["y", "density"] == 0
    empty = pd.DataFrame(columns=["x"], index=pd.Index([], name="city_adcode"), dtype="int64")
    assert relatedness_density(empty).empty
    zeros = pd.DataFrame({"x": [0, 0]}, index=pd.Index(["A", "B"], name="city_adcode"))
    assert (relatedness_density(zeros)["density"] == 0).all()


def test_presence_matrix_counts_leaves_and_as_of(tiny_db: Database) -> None:
    now = presence_matrix(tiny_db, "tiny")
    assert list(now.columns) == ["tn_a", "tn_x", "tn_b", "tn_w", "tn_c", "tn_d", "tn_g1",
                                 "tn_g2"]  # leaves only, in template order
    assert now.loc["320500", "tn_w"] == 11 and now.loc["130100", "tn_d"] == 1
    before = presence_matrix(tiny_db, "tiny", as_of=2010)
    assert before.loc["130100", "tn_d"] == 0  # founded in 2016
    provinces = presence_matrix(tiny_db, "tiny", level="province")
    assert provinces.loc["130000", "tn_a"] == 2


def test_supply_links_template_and_product_evidence(tiny_db: Database) -> None:
    links = supply_links(tiny_db, "tiny").set_index(["source", "target"])
    assert links.loc[("tn_c", "tn_d"), "template"] and links.loc[("tn_c", "tn_d"),
                                                                  "relations"] == 1
    # product relations never set a direction: 甲原料 -> 戊配件 is a pair no template path
    # connects, 丙整机 -> 乙部件 runs against the template's b -> c; both are dropped
    assert ("tn_a", "tn_w") not in links.index
    assert ("tn_c", "tn_b") not in links.index
    # evidence along a direction the model gives (a reaches d through b and c) is kept
    # with weight relations / 3, though no template edge joins the pair directly
    ids = dict(tiny_db.execute("SELECT name, product_id FROM products").fetchall())
    tiny_db.execute("INSERT INTO product_relations VALUES (?, ?, 'upstream_material', 1)",
                    [ids["丁服务"], ids["甲原料"]])
    links = supply_links(tiny_db, "tiny").set_index(["source", "target"])
    assert not links.loc[("tn_a", "tn_d"), "template"]
    assert links.loc[("tn_a", "tn_d"), "weight"] == pytest.approx(1 / 3)
    assert ("tn_a", "tn_w") not in links.index


def test_gap_between_strong_nodes_is_filled_first(tiny_db: Database) -> None:
    sjz = region_from_text(tiny_db, "石家庄")
    ranked = rank_nodes(tiny_db, sjz, "tiny", as_of=2010)
    nodes = _by_node(ranked)
    assert {"tn_a", "tn_c", "tn_g1"}.isdisjoint(nodes)  # strong nodes are not candidates
    assert nodes["tn_b"]["label"] == "补链"
    assert nodes["tn_x"]["label"] == "延链"
    assert nodes["tn_b"]["rank"] < nodes["tn_x"]["rank"]
    assert nodes["tn_b"]["score"] > nodes["tn_x"]["score"]
    assert nodes["tn_b"]["components"]["adjacency"]["value"] == 1.0
    assert nodes["tn_x"]["components"]["adjacency"]["value"] == 0.0
    assert (nodes["tn_b"]["components"]["density"]["density"]
            > nodes["tn_x"]["components"]["density"]["density"] == 0)
    assert nodes["tn_g2"]["label"] == "补链"  # inside the strong 庚系统
    assert nodes["tn_g2"]["components"]["adjacency"]["strong_parent"]["node_id"] == "tn_g"
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))


def test_weak_node_is_strengthened_and_end_is_extended(tiny_db: Database) -> None:
    sjz = region_from_text(tiny_db, "石家庄")
    nodes = _by_node(rank_nodes(tiny_db, sjz, "tiny", as_of=2010))
    assert (nodes["tn_w"]["class"], nodes["tn_w"]["label"]) == ("弱", "强链")
    assert (nodes["tn_d"]["class"], nodes["tn_d"]["label"]) == ("缺", "延链")
    upstream = nodes["tn_d"]["components"]["adjacency"]["upstream"]
    assert [(n["node_id"], n["class"], n["edge"]) for n in upstream] == [
        ("tn_c", "强", "template")]
    assert nodes["tn_d"]["components"]["adjacency"]["downstream"] == []


def test_only_production_nodes_are_ranked_unless_asked(tmp_path: Path) -> None:
    # 丁服务 as a service node: a bureau does not 招商 a hospital for its supply links
    db = _build(tmp_path, TINY.replace("stage: 下游, keywords", "stage: 下游, kind: service, "
                                       "keywords"))
    sjz = region_from_text(db, "石家庄")
    default = _by_node(rank_nodes(db, sjz, "tiny", as_of=2010))
    assert "tn_d" not in default and {"tn_b", "tn_x", "tn_w"} <= set(default)
    every = _by_node(rank_nodes(db, sjz, "tiny", as_of=2010, kinds=None))
    assert every["tn_d"]["kind"] == "service" and every["tn_d"]["class"] == "缺"
    assert set(every) - set(default) == {"tn_d"}
    assert [r["rank"] for r in default.values()] == list(range(1, len(default) + 1))
    services = rank_nodes(db, sjz, "tiny", as_of=2010, kinds=("service",))
    assert [r["node_id"] for r in services] == ["tn_d"]


def test_as_of_drops_later_firms(tiny_db: Database) -> None:
    sjz = region_from_text(tiny_db, "石家庄")
    now = _by_node(rank_nodes(tiny_db, sjz, "tiny"))
    assert "tn_d" not in now  # today A has 丁服务 (its only other firm is smaller: leader)
    then = _by_node(rank_nodes(tiny_db, sjz, "tiny", as_of=2010))
    assert then["tn_d"]["components"]["availability"]["national_firms"] == 1
    assert then["tn_d"]["components"]["availability"]["targets"] == ["苏丁"]


def test_reasons_name_strong_neighbours_and_local_firms(tiny_db: Database) -> None:
    sjz = region_from_text(tiny_db, "石家庄")
    nodes = _by_node(rank_nodes(tiny_db, sjz, "tiny", as_of=2010))
    gap = nodes["tn_b"]["reasons_zh"]
    assert gap[0] == ("上游「甲原料」（甲源科技）与下游「丙整机」（丙机股份）均为本地强项，"
                      "本环节是本地链条的缺口")
    assert {(c["other"], c["side"], tuple(c["firms"])) for c in nodes["tn_b"]["claims"]
            if c["kind"] == "direction"} == {("tn_a", "upstream", ("甲源科技",)),
                                             ("tn_c", "downstream", ("丙机股份",))}
    assert "全国有 1 家上市企业，其中 1 家在本地以外，可招引对象有限" in gap
    assert any(s.startswith("与本地现有产业的关联密度") for s in gap)
    weak = nodes["tn_w"]["reasons_zh"]
    assert weak[0].startswith("本地仅有 1 家企业（小戊配件）")
    assert any("苏戊10" in s for s in weak)  # the biggest firm outside, to attract
    assert any("「庚系统」为本地强项（庚一电子）" in s for s in nodes["tn_g2"]["reasons_zh"])
    assert "下游「丙整机」为本地强项（丙机股份），本地即有需求" in weak
    # the product evidence 甲原料 -> 戊配件 has no direction in the model: never named
    assert not any("甲原料" in s for s in weak)
    assert nodes["tn_d"]["reasons_zh"][0] == ("上游「丙整机」为本地强项（丙机股份），"
                                              "本环节可承接其产出、顺链发展")


def test_components_are_bounded_for_every_region_level(tiny_db: Database) -> None:
    for name in ("石家庄市", "长安区", "河北省", "唐山市", "苏州市"):
        region = region_from_text(tiny_db, name)
        ranked = rank_nodes(tiny_db, region, "tiny")
        assert ranked, name
        for rec in ranked:
            assert rec["label"] in {"补链", "延链", "强链"}
            assert 0.0 <= rec["score"] <= 1.0
            for part in ("density", "adjacency", "availability"):
                assert 0.0 <= rec["components"][part]["value"] <= 1.0
    district = rank_nodes(tiny_db, region_from_text(tiny_db, "长安区"), "tiny")
    assert district[0]["components"]["density"]["place"] == "130100"  # its city's row
    assert any(s.startswith("与所在城市现有产业的关联密度") for s in district[0]["reasons_zh"])
    province = rank_nodes(tiny_db, region_from_text(tiny_db, "河北省"), "tiny")
    assert province[0]["components"]["density"]["place"] == "130000"


def test_top_context_and_unknown_chain(tiny_db: Database) -> None:
    sjz = region_from_text(tiny_db, "石家庄")
    full = rank_nodes(tiny_db, sjz, "小链", as_of=2010)
    assert rank_nodes(tiny_db, "石家庄", "tiny", as_of=2010) == full  # text or typed values
    assert rank_nodes(tiny_db, sjz, "tiny", as_of=2010, top=2) == full[:2]
    context = chain_context(tiny_db, "tiny", 2010)
    assert rank_nodes(tiny_db, sjz, "tiny", as_of=2010, context=context) == full
    with pytest.raises(ValueError, match="context"):
        rank_nodes(tiny_db, sjz, "tiny", as_of=None, context=context)
    with pytest.raises(NotFoundError):
        rank_nodes(tiny_db, sjz, "no_such_chain")
    with pytest.raises(NotFoundError):
        presence_matrix(tiny_db, "no_such_chain")


# registry firms (known by their scope): firm, short name, city, scope, capital, setup year
REGISTRY = [("R_X1", "石己一", "130100", "己孤件的生产、销售", 10.0, 1995),
            ("R_X2", "石己二", "130100", "己孤件的生产、销售", 20.0, 1996),
            ("R_B", "唐乙登记", "130200", "乙部件制造", 30.0, 1990)]


def _add_registry(db: Database, folder: Path) -> None:
    for cid, short, city, scope, capital, year in REGISTRY:
        add_firm(db, cid, scope=scope)
        db.execute("UPDATE companies SET origin = 'registry', short_name = ?, city_adcode = ?, "
                   "region_adcode = ?, province_adcode = left(?, 2) || '0000', "
                   "registered_capital = ?, setup_date = make_date(?, 1, 1) "
                   "WHERE company_id = ?", [short, city, city, city, capital, year, cid])
    classify_store(db, {"tiny": load_template(folder / "tiny.yaml")})
    refresh_derived(db)


@pytest.fixture
def registry_db(tiny_db: Database, tmp_path: Path) -> Database:
    _add_registry(tiny_db, tmp_path)
    return tiny_db


def test_registry_firms_change_the_candidates_and_the_reasons(registry_db: Database) -> None:
    sjz = region_from_text(registry_db, "石家庄")
    listed = _by_node(rank_nodes(registry_db, sjz, "tiny", as_of=2010, universe="listed"))
    assert listed["tn_x"]["class"] == "缺" and listed["tn_x"]["universe"] == "listed"
    everything = _by_node(rank_nodes(registry_db, sjz, "tiny", as_of=2010))  # default: all
    # two local registry makers of 己孤件: LQ (2/2) / (2/3) = 1.5 on registry counts, 强
    assert "tn_x" not in everything
    gap = everything["tn_b"]
    assert (gap["universe"], gap["universe_zh"]) == ("all", "全部企业")
    assert gap["components"]["availability"]["national_firms"] == 2  # 唐乙 and 唐乙登记
    assert ("全国上市企业与河北省工商登记企业中有 2 家该环节企业，其中 2 家在本地以外，"
            "可招引对象有限") in gap["reasons_zh"]
    # two Hebei cities hold registry firms: too few places for relatedness, listed used
    assert gap["components"]["density"]["basis"] == "listed"
    registry = _by_node(rank_nodes(registry_db, sjz, "tiny", as_of=2010, universe="registry"))
    assert registry["tn_b"]["components"]["availability"]["targets"] == ["唐乙登记"]
    assert any(s.startswith("已载入的工商登记企业（河北省）中有 1 家该环节工商登记企业")
               for s in registry["tn_b"]["reasons_zh"])


def test_registry_density_basis_and_context_checks(registry_db: Database,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    matrix = presence_matrix(registry_db, "tiny", basis="registry")
    assert list(matrix.index) == ["130100", "130200"]
    assert matrix.loc["130100", "tn_x"] == 2 and matrix.loc["130200", "tn_b"] == 1
    with pytest.raises(ValueError, match="basis"):
        presence_matrix(registry_db, "tiny", basis="roster")
    monkeypatch.setattr("chainatlas.recommend.node_context.MIN_DENSITY_PLACES", 2)
    context = chain_context(registry_db, "tiny", 2010, universe="all", basis="registry")
    assert (context.density_basis, context.universe) == ("registry", "all")
    sjz = region_from_text(registry_db, "石家庄")
    ranked = rank_nodes(registry_db, sjz, "tiny", as_of=2010, context=context)
    assert ranked[0]["components"]["density"]["basis"] == "registry"
    assert any("按河北省各地工商登记企业计算" in s for r in ranked for s in r["reasons_zh"])
    # a context of the listed basis does not fit a region whose LQ counts registry firms
    with pytest.raises(ValueError, match="LQ basis"):
        rank_nodes(registry_db, sjz, "tiny", as_of=2010,
                   context=chain_context(registry_db, "tiny", 2010, universe="all"))


# --------------------------------------------------------------------------- pure scoring

HAND_CITY = Region("130100", "石家庄市", "city", "130000", parent="130000")
# node_id: (parent, class, local firms, national listed firms)
HAND_NODES: dict[str, tuple[str | None, str, int, int]] = {
    "a": (None, "强", 3, 9), "b": (None, "缺", 0, 9), "c": (None, "强", 2, 4),
    "d": (None, "缺", 0, 2), "x": (None, "缺", 0, 0), "w": (None, "弱", 1, 5),
    "e": (None, "缺", 0, 1), "g": (None, "强", 1, 3), "g1": ("g", "强", 1, 1),
    "g2": ("g", "缺", 0, 2)}


def _hand_profile() -> list[dict[str, Any]]:
    out = []
    for node, (parent, cls, local, national) in HAND_NODES.items():
        firms = [{"company_id": f"{node}{i}", "short_name": f"{node}企业{i}"}
                 for i in range(local)]
        out.append({"node_id": node, "name_zh": f"{node}环节", "stage": "中游",
                    "parent": parent, "is_leaf": node != "g", "class": cls,
                    "national_firms": national, "local_firms": local,
                    "local_listed": local, "lq": 0.5, "local_leaders": firms})
    return out


def _hand_context() -> ChainContext:
    edges = pd.DataFrame({"source": ["a", "b", "c", "w"], "target": ["b", "c", "d", "e"],
                          "template": True})
    evidence = pd.DataFrame({"source": ["a"], "target": ["w"], "relations": [1],
                             "example": ["甲→戊"]})
    incoming: dict[str, list[dict[str, Any]]] = {}
    outgoing: dict[str, list[dict[str, Any]]] = {}
    for row in combine_links(edges, evidence).to_dict("records"):
        incoming.setdefault(str(row["target"]), []).append({str(k): v for k, v in row.items()})
        outgoing.setdefault(str(row["source"]), []).append({str(k): v for k, v in row.items()})
    leaves = [n for n in HAND_NODES if n != "g"]
    held = {n for n in leaves if HAND_NODES[n][2] > 0}
    density = pd.DataFrame({"city_adcode": "130100", "node_id": leaves,
                            "mcp": [int(n in held) for n in leaves],
                            "density": [0.9 if n in held else 0.1 * i
                                        for i, n in enumerate(leaves)]})
    top = {"b": [{"short_name": "外地乙", "city_adcode": "320500"},
                 {"short_name": "*ST乙", "city_adcode": "320500"},
                 {"short_name": "本地乙", "city_adcode": "130100"}]}
    tree = NodeTree({n: p for n, (p, *_) in HAND_NODES.items()})
    return ChainContext("hand", None, "city", density_percentile(density), incoming,
                        outgoing, tree, top, biggest_leaf=9)


def test_density_percentile_by_hand() -> None:
    table = pd.DataFrame({"mcp": [1, 0, 0, 0], "density": [0.9, 0.1, 0.3, 0.3]})
    # held cells 1; lacking ones: the share of lacking cells with a strictly lower density
    assert list(density_percentile(table)["pct"]) == [1.0, 0.0, 0.5, 0.5]
    assert list(density_percentile(table.head(2))["pct"]) == [1.0, 0.0]


def test_combine_links_by_hand() -> None:
    edges = pd.DataFrame({"source": ["a"], "target": ["b"], "template": [True]})
    evidence = pd.DataFrame({"source": ["b", "a", "c", "d"], "target": ["a", "c", "a", "e"],
                             "relations": [5, 2, 1, 6], "example": ["x", "y", "z", "v"]})
    links = combine_links(edges, evidence).set_index(["source", "target"])
    assert ("b", "a") not in links.index  # against the template
    assert ("c", "a") not in links.index  # the weaker evidence-only direction
    assert links.loc[("a", "b"), "weight"] == 1.0 and links.loc[("a", "b"), "template"]
    assert links.loc[("a", "c"), "weight"] == pytest.approx(2 / 3)
    assert links.loc[("d", "e"), "weight"] == 1.0  # capped at EVIDENCE_FULL relations


def test_node_labels_on_a_hand_context() -> None:
    ranked = score_node_candidates(_hand_profile(), _hand_context(), HAND_CITY)
    nodes = _by_node(ranked)
    assert set(nodes) == {"b", "d", "x", "w", "e", "g2"}  # 弱 and 缺 leaves only
    labels = {n: r["label"] for n, r in nodes.items()}
    assert labels == {"b": "补链", "g2": "补链", "w": "强链", "d": "延链", "x": "延链",
                      "e": "延链"}
    b = nodes["b"]
    assert b["reasons_zh"][0] == ("上游「a环节」（a企业0、a企业1、a企业2）与下游「c环节」"
                                  "（c企业0、c企业1）均为本地强项，本环节是本地链条的缺口")
    assert b["components"]["adjacency"]["value"] == 1.0  # 0.5 up + 0.5 down
    assert nodes["g2"]["reasons_zh"][0] == \
        "所属「g环节」为本地强项（g企业0），本环节是其中的缺口"
    assert nodes["d"]["reasons_zh"][0] == ("上游「c环节」为本地强项（c企业0、c企业1），"
                                           "本环节可承接其产出、顺链发展")
    # e: only a 弱 neighbour upstream, counting half: 0.5 x noisy-or(0.5)
    assert nodes["e"]["components"]["adjacency"]["value"] == 0.25
    assert nodes["e"]["reasons_zh"][0] == "本地尚无直接关联的强项，属新布局方向"
    assert nodes["x"]["components"]["adjacency"]["value"] == 0.0
    # w is weak; its product-evidence neighbour a weighs 1/3 (one relation of three)
    [up] = nodes["w"]["components"]["adjacency"]["upstream"]
    assert (up["node_id"], up["edge"], up["weight"]) == ("a", "product", round(1 / 3, 4))
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))


def test_a_parent_strong_only_through_the_nodes_own_firms_adds_nothing() -> None:
    # g2 becomes 弱 through g's one local firm: g is strong only through g2 itself
    profile = {n["node_id"]: n for n in _hand_profile()}
    g, g2 = profile["g"], profile["g2"]
    g2.update({"class": "弱", "local_firms": 1, "local_leaders": list(g["local_leaders"])})
    alone = _by_node(score_node_candidates(list(profile.values()), _hand_context(),
                                           HAND_CITY))["g2"]["components"]["adjacency"]
    assert alone["strong_parent"] is None and alone["parts"]["parent"] == 0.0
    g["local_firms"] = 2  # a second local firm elsewhere in g: a separate strength
    other = _by_node(score_node_candidates(list(profile.values()), _hand_context(),
                                           HAND_CITY))["g2"]["components"]["adjacency"]
    assert other["strong_parent"]["node_id"] == "g" and other["parts"]["parent"] == 1.0


def test_node_score_by_hand() -> None:
    nodes = _by_node(score_node_candidates(_hand_profile(), _hand_context(), HAND_CITY))
    b = nodes["b"]["components"]
    # b's density 0.1 is the lowest of the five lacking cells (0.1, 0.3, 0.4, 0.6, 0.8)
    assert (b["density"]["density"], b["density"]["value"]) == (0.1, 0.0)
    # availability: log(1 + 9 outside) / log(1 + 9 at the biggest leaf) = 1; ST and local
    # firms are not named as targets
    assert b["availability"] == {"value": 1.0, "national_firms": 9, "outside_firms": 9,
                                 "targets": ["外地乙"]}
    # no place signals in the hand context: peers, nearby and momentum are 0
    assert all(b[k]["value"] == 0.0 for k in ("peers", "nearby", "momentum"))
    w = NODE_WEIGHTS
    assert nodes["b"]["score"] == round(w["density"] * 0.0 + w["adjacency"] * 1.0
                                        + w["availability"] * 1.0, 4)
    assert [(r["component"], r["weight"]) for r in nodes["b"]["explain"]] == list(w.items())
    d = nodes["d"]["components"]
    assert d["density"]["value"] == 0.25  # one of the four other lacking cells is lower
    assert d["availability"]["value"] == round(math.log(3) / math.log(10), 4)
    assert nodes["d"]["score"] == round(w["density"] * 0.25 + w["adjacency"] * 0.5
                                        + w["availability"] * d["availability"]["value"], 4)
