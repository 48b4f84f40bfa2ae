"""Lookups: typed regions and chains from ids or Chinese names, one tree walk, codes."""

from __future__ import annotations

import pytest

from chainatlas.chains.classify import store_templates
from chainatlas.chains.templates import load_templates
from chainatlas.errors import NotFoundError
from chainatlas.store import Database
from chainatlas.store.lookup import (
    NodeTree,
    Region,
    as_chain,
    as_region,
    chain_from_text,
    normalise_stock_code,
    province_from_text,
    region_from_text,
)
from tests.helpers import NOW


@pytest.fixture
def chain_db() -> Database:
    db = Database()
    store_templates(db, load_templates(), NOW, {})
    for adcode, name, level, parent in [("110000", "北京市", "province", None),
                                        ("110100", "北京市", "city", "110000"),
                                        ("130000", "河北省", "province", None),
                                        ("130100", "石家庄市", "city", "130000"),
                                        ("130104", "桥西区", "district", "130100")]:
        db.execute("INSERT INTO regions VALUES (?, ?, ?, ?, ?, 1.0, 2.0, 1)",
                   [adcode, name, level, parent, adcode[:2] + "0000"])
    return db


def test_regions_by_name_prefix_and_adcode(chain_db: Database) -> None:
    sjz = region_from_text(chain_db, "石家庄")
    assert sjz == Region("130100", "石家庄市", "city", "130000", "130000", 1.0, 2.0)
    assert sjz.column == "city_adcode" and sjz.summary()["level"] == "city"
    assert region_from_text(chain_db, "北京市").level == "province"  # the higher level wins
    assert region_from_text(chain_db, "1301").adcode == "130100"
    assert province_from_text(chain_db, "桥西区").name == "河北省"
    assert as_region(chain_db, sjz) is sjz
    with pytest.raises(NotFoundError, match="Did you mean"):
        region_from_text(chain_db, "火星市")


def test_chain_by_id_or_chinese_name_and_its_tree(chain_db: Database) -> None:
    chain = chain_from_text(chain_db, "生物医药")
    assert chain.chain_id == "biomedicine" and as_chain(chain_db, "biomedicine") == chain
    vaccines = chain.node("人用疫苗")
    assert vaccines.node_id == "bm_vaccines" and chain.node(" bm_vaccines ") == vaccines
    assert "bm_biologics" in chain.ancestors(vaccines.node_id)
    assert vaccines.node_id in chain.subtree("bm_biologics")
    assert chain.subtree(None) == chain.node_ids
    with pytest.raises(NotFoundError, match="no node"):
        chain.node("光刻机")
    with pytest.raises(NotFoundError, match="Known chains"):
        chain_from_text(chain_db, "航天")


def test_node_tree_walks() -> None:
    tree = NodeTree({"a": None, "b": "a", "c": "b", "d": "a", "e": None})
    assert tree.ancestors("c") == ("b", "a")
    assert tree.descendants("a") == ("b", "c", "d")
    assert tree.subtree("b") == ("b", "c")
    assert tree.children("a") == ("b", "d") and tree.root("c") == "a"
    assert tree.parent("e") is None and "z" not in tree


@pytest.mark.parametrize(("raw", "code"), [("000001", "000001.SZ"), ("600519.sh", "600519.SH"),
                                           ("sz000002", "000002.SZ"), ("830799", "830799.BJ"),
                                           ("920001", "920001.BJ"), ("abc", None)])
def test_stock_codes(raw: str, code: str | None) -> None:
    assert normalise_stock_code(raw) == code
