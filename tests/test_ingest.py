"""Ingest of the open-data bundle: quirks handled, issues explained, all-or-nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chainatlas.build import build_store
from chainatlas.errors import InputError
from chainatlas.sources.staging import fold_name
from chainatlas.store import Database
from chainatlas.store.lookup import normalise_stock_code
from tests.helpers import unpinned_bundle


@pytest.mark.parametrize(("raw", "code"), [
    ("000001", "000001.SZ"), ("000001.SZ", "000001.SZ"), ("600812.sh", "600812.SH"),
    ("sz300054", "300054.SZ"), ("688096", "688096.SH"), ("830799", "830799.BJ"),
    ("920001", "920001.BJ"), ("abc", None), ("", None)])
def test_normalise_stock_code(raw: str, code: str | None) -> None:
    assert normalise_stock_code(raw) == code


def test_fold_name() -> None:
    assert fold_name("光纤复合\n架空地线\n") == "光纤复合架空地线"
    assert fold_name(' "经公司登记机关核准') == "经公司登记机关核准"
    assert fold_name("小\x08大肠") == "小大肠"
    assert fold_name("\n") is None


def issues(db: Database, kind: str) -> list[dict[str, object]]:
    return db.rows("SELECT * FROM ingest_issues WHERE kind = ? ORDER BY line", [kind])


def test_duplicate_codes_merge_into_one_firm(mini_db: Database) -> None:
    assert mini_db.scalar("SELECT count(*) FROM companies") == 5
    merged = issues(mini_db, "duplicate_company")
    assert len(merged) == 2
    # the row whose full name belongs to another firm loses
    assert mini_db.scalar("SELECT full_name FROM companies WHERE company_id = '688096.SH'") \
        == "江苏京源环保股份有限公司"
    assert "belongs to another firm" in str(merged[-1]["detail"])


def test_exchange_date_row_is_repaired(mini_db: Database) -> None:
    row = mini_db.rows("SELECT exchange, listing_date FROM companies "
                       "WHERE company_id = '300054.SZ'")[0]
    assert row["exchange"] == "SZ"
    assert str(row["listing_date"]) == "2010-02-11"
    assert issues(mini_db, "bad_exchange")[0]["line"] == 4


def test_products_folded_and_shares_flagged(mini_db: Database) -> None:
    names = {r[0] for r in mini_db.execute("SELECT name FROM products").fetchall()}
    assert "光纤复合架空地线" in names and not any("\n" in n for n in names)
    neg = mini_db.rows("SELECT revenue_share, negative_share FROM company_products cp JOIN "
                       "products p USING (product_id) WHERE p.name = '分部间抵销'")
    assert neg == [{"revenue_share": -0.05, "negative_share": True}]
    assert mini_db.scalar("SELECT kind FROM products WHERE name = '分部间抵销'") == "accounting"
    assert len(issues(mini_db, "negative_share")) == 1
    # the duplicated (firm, product) pair keeps the larger share
    assert mini_db.scalar(
        "SELECT revenue_share FROM company_products JOIN products USING (product_id) "
        "WHERE company_id = '002603.SZ' AND name = '化学药'") == 0.15


def test_rejects_are_explained(mini_db: Database) -> None:
    assert [i["line"] for i in issues(mini_db, "unknown_company")] == [9]
    assert issues(mini_db, "self_relation")[0]["file"] == "chainkg/product_product.json"
    read, stored = mini_db.execute(
        "SELECT rows_read, rows_stored FROM sources WHERE file = 'chainkg/company_product.json'"
    ).fetchone()
    explained = mini_db.scalar(
        "SELECT count(*) FROM ingest_issues WHERE file = 'chainkg/company_product.json' "
        "AND action IN ('rejected', 'merged')")
    assert read == stored + explained


def test_locations_follow_precedence(mini_db: Database) -> None:
    rows = {r["company_id"]: r for r in mini_db.rows(
        "SELECT company_id, region_adcode, city_adcode, location_source FROM companies")}
    assert rows["002603.SZ"]["city_adcode"] == "130100"
    assert rows["002603.SZ"]["location_source"] in {"tushare", "tushare+szse"}
    assert rows["300054.SZ"]["location_source"] == "szse"
    assert rows["300054.SZ"]["city_adcode"] == "420100"
    assert rows["600812.SH"]["location_source"] == "tushare"
    assert rows["300265.SZ"]["location_source"] == "fullname"  # 江苏… gives the province


def test_every_row_records_its_source(mini_db: Database) -> None:
    for table in ("companies", "products", "company_products", "product_relations",
                  "industries", "regions", "company_industries"):
        orphans = mini_db.scalar(
            f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
            "(SELECT 1 FROM sources s WHERE s.source_id = t.source_id)")
        assert orphans == 0, table
    assert mini_db.scalar("SELECT count(*) FROM sources WHERE length(sha256) = 64") == 12


def test_gbt_classes_from_js(mini_db: Database) -> None:
    row = mini_db.rows("SELECT name, parent, level FROM industries "
                       "WHERE scheme = 'gbt2017' AND code = '2710'")[0]
    assert row == {"name": "化学药品原料药制造", "parent": "27", "level": 4}


def test_rebuild_is_idempotent(mini_bundle: Path, mini_db: Database) -> None:
    before = mini_db.table_counts()
    build_store(mini_db, unpinned_bundle(mini_bundle))
    assert mini_db.table_counts() == before


def _corrupt(src: Path, dst: Path, file: str, text: str) -> Path:
    shutil.copytree(src, dst)
    target = dst / file
    target.write_text(target.read_text(encoding="utf-8") + text, encoding="utf-8")
    return dst


def test_truncated_json_line_changes_nothing(mini_bundle: Path, mini_db: Database,
                                             tmp_path: Path) -> None:
    before = mini_db.table_counts()
    bad = _corrupt(mini_bundle, tmp_path / "bad", "chainkg/product_product.json",
                   '{"from_entity": "制剂", "to_ent\n')
    with pytest.raises(InputError) as err:
        build_store(mini_db, unpinned_bundle(bad))
    problem = err.value.problems[0]
    assert problem.file == "chainkg/product_product.json"
    assert problem.row == len([1 for _ in (mini_bundle / "chainkg/product_product.json")
                               .read_text().splitlines()]) + 1
    assert "not a valid JSON object" in problem.reason
    assert mini_db.table_counts() == before


def test_missing_field_names_line_and_field(mini_bundle: Path, mini_db: Database,
                                            tmp_path: Path) -> None:
    before = mini_db.table_counts()
    bad = _corrupt(mini_bundle, tmp_path / "bad", "chainkg/company.json",
                   json.dumps({"name": "无代码"}, ensure_ascii=False) + "\n")
    with pytest.raises(InputError) as err:
        build_store(mini_db, unpinned_bundle(bad))
    assert str(err.value).startswith("chainkg/company.json, row 8, field 'code'")
    assert mini_db.table_counts() == before
