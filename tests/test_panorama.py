"""Chain panorama and template-edge audit."""

from __future__ import annotations

import pytest

from chainatlas.analysis.audit import audit_chain
from chainatlas.analysis.panorama import chain_panorama, node_firms
from chainatlas.chains.classify import classify_store
from chainatlas.chains.evidence import placing_scope_items as scope_items
from chainatlas.chains.placements import refresh_chain_firms
from chainatlas.chains.templates import load_templates
from chainatlas.errors import NotFoundError
from chainatlas.store import Database
from chainatlas.store.lookup import region_from_text
from tests.helpers import add_firm

TEMPLATES = load_templates()


@pytest.fixture
def chain_db() -> Database:
    db = Database()
    db.execute("INSERT INTO regions VALUES ('130000', '河北省', 'province', NULL, '130000', "
               "114.5, 38.0, 1), ('130100', '石家庄市', 'city', '130000', '130000', 114.5, "
               "38.0, 1), ('320500', '苏州市', 'city', '320000', '320000', 120.6, 31.3, 1)")
    add_firm(db, "A1", products={"维生素C": 0.9})
    add_firm(db, "A2", products={"头孢菌素": 0.8})
    add_firm(db, "B1", products={"片剂": 0.9})
    add_firm(db, "B2", products={"片剂": 0.5, "胶囊剂": 0.5})
    for cid, city, capital in (("A1", "130100", 500.0), ("A2", "320500", 900.0),
                               ("B1", "130100", 100.0), ("B2", "320500", None)):
        db.execute("UPDATE companies SET origin = 'listed', city_adcode = ?, "
                   "region_adcode = ?, province_adcode = left(?, 2) || '0000', "
                   "registered_capital = ? WHERE company_id = ?",
                   [city, city, city, capital, cid])
    ids = dict(db.execute("SELECT name, product_id FROM products").fetchall())
    for up in ("维生素C", "头孢菌素"):
        db.execute("INSERT INTO product_relations VALUES (?, ?, 'upstream_material', 1)",
                   [ids["片剂"], ids[up]])
    db.execute("INSERT INTO product_relations VALUES (?, ?, 'upstream_material', 1)",
               [ids["胶囊剂"], ids["维生素C"]])
    classify_store(db, TEMPLATES)
    refresh_chain_firms(db)
    return db


def _node(result: dict[str, object], node_id: str) -> dict[str, object]:
    nodes = result["nodes"]
    assert isinstance(nodes, list)
    return next(n for n in nodes if n["node_id"] == node_id)


def test_panorama_counts_nationally_and_locally(chain_db: Database) -> None:
    region = region_from_text(chain_db, "石家庄")
    result = chain_panorama(chain_db, "biomedicine", region)
    api = _node(result, "bm_api")
    assert (api["national_firms"], api["local_firms"]) == (2, 1)
    assert [f["company_id"] for f in api["top_firms"]] == ["A2", "A1"]  # by capital
    assert [f["company_id"] for f in api["local_top_firms"]] == ["A1"]
    parent = _node(result, "bm_chem_drugs")  # counts its subtree, each firm once
    assert parent["national_firms"] == 4
    assert _node(result, "bm_vaccines")["national_firms"] == 0


def test_panorama_by_chinese_name_and_unknown_chain(chain_db: Database) -> None:
    assert chain_panorama(chain_db, "生物医药")["chain_id"] == "biomedicine"
    with pytest.raises(NotFoundError, match="Known chains"):
        chain_panorama(chain_db, "nope")


def test_audit_counts_product_evidence(chain_db: Database) -> None:
    result = audit_chain(chain_db, "biomedicine")
    assert result["edges_with_evidence"] >= 1
    missing = {(e["source"], e["target"]) for e in result["edges_without_evidence"]}
    assert ("bm_api", "bm_oral_solid") not in missing
    assert ("bm_api", "bm_injectables") in missing


def _registry_firm(db: Database, cid: str, city: str, scope: str, capital: float) -> None:
    add_firm(db, cid, scope=scope)
    db.execute("UPDATE companies SET origin = 'registry', city_adcode = ?, region_adcode = ?, "
               "province_adcode = left(?, 2) || '0000', registered_capital = ? "
               "WHERE company_id = ?", [city, city, city, capital, cid])


@pytest.fixture
def registry_db(chain_db: Database) -> Database:
    _registry_firm(chain_db, "R_API", "130100", "维生素C原料药的生产、销售；日用百货零售", 9999.0)
    _registry_firm(chain_db, "R_VAC", "130100", "疫苗的研发、生产", 10.0)
    classify_store(chain_db, TEMPLATES)
    refresh_chain_firms(chain_db)
    return chain_db


def test_panorama_counts_the_chosen_universe(registry_db: Database) -> None:
    region = region_from_text(registry_db, "石家庄")
    listed = chain_panorama(registry_db, "biomedicine", region, universe="listed")
    everything = chain_panorama(registry_db, "biomedicine", region)  # default: all
    registry = chain_panorama(registry_db, "biomedicine", region, universe="registry")
    assert (listed["universe"], everything["universe"], registry["universe"]) == (
        "listed", "all", "registry")
    assert everything["universe_zh"] == "全部企业" and "河北省" in everything["coverage_zh"]
    api = {u: _node(r, "bm_api") for u, r in (("listed", listed), ("all", everything),
                                              ("registry", registry))}
    assert [(a["national_firms"], a["local_firms"]) for a in api.values()] == [
        (2, 1), (3, 2), (1, 1)]
    # the registry firm is the biggest: first nationally and locally, named as registry
    assert [f["company_id"] for f in api["all"]["top_firms"]] == ["R_API", "A2", "A1"]
    assert api["all"]["local_top_firms"][0]["origin"] == "registry"
    assert _node(listed, "bm_vaccines")["local_firms"] == 0
    assert _node(everything, "bm_vaccines")["local_firms"] == 1


def test_node_firms_carry_scope_items_as_evidence(registry_db: Database) -> None:
    frame = node_firms(registry_db, "biomedicine", "石家庄", "bm_api", universe="registry")
    assert frame.attrs["universe"] == "registry"
    assert list(frame["company_id"]) == ["R_API"]
    # only the clause that placed it, not the retail one
    assert scope_items(frame["evidence"].iloc[0]) == ["维生素C原料药的生产、销售"]
    listed = node_firms(registry_db, "biomedicine", None, "bm_api", universe="listed")
    assert set(listed["origin"]) == {"listed"}
    assert all(scope_items(e) == [] for e in listed["evidence"])  # placed by products
    assert scope_items("not json") == [] and scope_items({"scope_clauses": [{}]}) == []


def test_node_firms_local_first_and_limit(registry_db: Database) -> None:
    plain = node_firms(registry_db, "biomedicine", "石家庄", "bm_api", universe="all")
    assert list(plain["company_id"]) == ["R_API", "A2", "A1"]  # biggest first
    first = node_firms(registry_db, "biomedicine", "石家庄", "bm_api", universe="all",
                       local_first=True, limit=2)
    assert list(first["company_id"]) == ["R_API", "A1"]  # 石家庄's two, A2 cut
