"""The full store built from the real open-data mirror."""

from __future__ import annotations

import pytest

from chainatlas.store import Database
from chainatlas.store.stats import stats_from_db

pytestmark = pytest.mark.integration

# Rows per file in ../shared/data/README.md (lines; two files lack a final newline,
# which the README does not count).
README_ROWS = {
    "chainkg/company.json": 4654, "chainkg/product.json": 95559,
    "chainkg/company_product.json": 53785, "chainkg/product_product.json": 110153,
    "chainkg/industry.json": 511, "chainkg/company_industry.json": 4430,
}


def test_firms_and_locations(real_db: Database) -> None:
    stats = stats_from_db(real_db)
    assert stats["firms"]["listed"] == 4586
    assert stats["firms"]["listed_located_city"] >= 4480
    assert stats["tables"]["regions"] == 3511


def test_counts_reconcile_with_the_readme(real_db: Database) -> None:
    sources = {s["file"]: s for s in stats_from_db(real_db)["sources"]}
    for file, rows in README_ROWS.items():
        assert sources[file]["rows_read"] == rows, file
    for file in ("chainkg/company_product.json", "chainkg/product_product.json",
                 "chainkg/company.json"):
        s = sources[file]
        assert s["rows_read"] == s["rows_stored"] + s["rejected"] + s["merged"], file
    # products: the product list less names that fold together, plus names only the
    # relation files use
    merged = real_db.scalar("SELECT count(*) FROM ingest_issues WHERE file = "
                            "'chainkg/product.json' AND action = 'merged'")
    assert merged == 6
    # 9 names appear only in company_product / product_product (pinned data, measured)
    assert real_db.scalar("SELECT count(*) FROM products") == 95559 - merged + 9


def test_known_quirks(real_db: Database) -> None:
    kinds = {(i["kind"], i["action"]): i["rows"] for i in stats_from_db(real_db)["issues"]}
    assert kinds[("duplicate_company", "merged")] == 68
    assert kinds[("bad_exchange", "repaired")] == 1
    assert kinds[("negative_share", "flagged")] > 200
    assert real_db.scalar("SELECT count(*) FROM products WHERE name LIKE '%' || chr(10) || '%'") \
        == 0
    assert real_db.scalar("SELECT full_name FROM companies WHERE company_id = '688096.SH'") \
        == "江苏京源环保股份有限公司"


def test_shijiazhuang_has_listed_firms(real_db: Database) -> None:
    names = {r[0] for r in real_db.execute(
        "SELECT short_name FROM companies WHERE city_adcode = '130100'").fetchall()}
    assert {"以岭药业", "华北制药", "石药集团"} & names
    assert len(names) >= 15
