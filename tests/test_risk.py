"""Risk flags of listed firms: read from short names and the 2025 SZSE list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from chainatlas.analysis.risk import (
    flags_from_names,
    flags_zh,
    name_flags,
    risk_factor,
    risk_from_names,
    risk_table,
    with_risk,
)
from chainatlas.build import build_store
from chainatlas.sources.fetch import FetchedFile
from chainatlas.sources.listed import (
    clean_short_name,
    read_szse,
    share_count_wan,
    szse_status,
)
from chainatlas.store import Database
from tests.helpers import make_bundle, unpinned_bundle

NOW = dt.datetime(2026, 1, 1)


@pytest.mark.parametrize(("name", "flags"), [
    ("*ST天圣", ["*ST"]), ("S*ST前锋", ["*ST"]), ("ST香雪", ["ST"]), ("SST华塑", ["ST"]),
    ("＊ＳＴ康得", ["*ST"]), ("退市长油", ["delisting"]), ("新都退", ["delisting"]),
    ("PT水仙", ["PT"]), ("恒瑞医药", []), ("STAR", ["ST"]), (None, []), ("", []),
])
def test_name_flags(name: str | None, flags: list[str]) -> None:
    assert name_flags(name) == flags


def test_2025_name_supersedes_2021_on_shenzhen_codes() -> None:
    # ST by 2025
    assert flags_from_names("香雪制药", "ST香雪", True, "SZ") == ["ST"]
    # *ST in 2021, ST in 2025: the newer warning
    assert flags_from_names("*ST天圣", "ST天圣", True, "SZ") == ["ST"]
    # warning lifted by 2025: no flag, but the text says so
    assert flags_from_names("ST南风", "北方铜业", True, "SZ") == []
    assert "摘帽" in flags_zh("ST南风", "北方铜业", True, "SZ")
    # Shanghai: the 2021 name alone (no 2025 list), never gone_2025
    assert flags_from_names("*ST上航", None, None, "SH") == ["*ST"]
    assert flags_from_names("恒瑞医药", None, False, "SH") == []


def test_gone_2025_only_for_shenzhen_codes_absent_from_the_list() -> None:
    assert flags_from_names("*ST康得", None, False, "SZ") == ["gone_2025", "*ST"]
    assert flags_from_names("科迪乳业", None, False, "SZ") == ["gone_2025"]
    assert flags_from_names("科迪乳业", None, None, "SZ") == []  # list silent: no flag
    assert flags_zh("*ST康得", None, False, "SZ") == (
        "2025 年深交所名单中已无此代码；*ST（2021 简称）")


def test_factor_is_the_gravest_flag() -> None:
    assert risk_factor([]) == 1.0
    assert risk_factor(["ST"]) == 0.5
    assert risk_factor(["*ST"]) == 0.5
    assert risk_factor(["gone_2025", "*ST"]) == 0.0
    assert risk_factor(["PT"]) == 0.0
    assert risk_factor(["delisting"]) == 0.0


def test_risk_from_names_and_with_risk() -> None:
    firms = pd.DataFrame({
        "company_id": ["000001.SZ", "000002.SZ", "600001.SH"],
        "short_name": ["甲公司", "*ST乙", "退市丙"],
        "short_name_2025": ["ST甲", None, None],
        "in_szse_2025": pd.array([True, False, None], dtype="boolean"),
        "exchange": ["SZ", "SZ", "SH"]})
    risk = risk_from_names(firms).set_index("company_id")
    assert risk.loc["000001.SZ", "flags"] == ["ST"]
    assert risk.loc["000001.SZ", "factor"] == 0.5
    assert not risk.loc["000001.SZ", "excluded"]
    assert risk.loc["000002.SZ", "excluded"]
    assert risk.loc["600001.SH", "flags"] == ["delisting"]
    joined = with_risk(pd.DataFrame({"company_id": ["000001.SZ", "R1"]}),
                       risk.reset_index()).set_index("company_id")
    assert joined.loc["R1", "flags"] == []
    assert joined.loc["R1", "factor"] == 1.0
    assert joined.loc["R1", "flags_zh"] == ""
    assert not joined.loc["R1", "excluded"]
    assert joined.loc["000001.SZ", "flags_zh"] == "ST（2025 简称）"


def test_risk_table_only_listed_firms(db: Database) -> None:
    rows = [("000001.SZ", "listed", "*ST甲", "SZ", None, False),
            ("600002.SH", "listed", "乙", "SH", None, None),
            ("R-ST", "registry", "ST丙", None, None, None)]
    for cid, origin, name, exchange, new, listed in rows:
        db.execute("INSERT INTO companies (company_id, origin, short_name, exchange, "
                   "short_name_2025, in_szse_2025, source_id, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, 1, ?)", [cid, origin, name, exchange, new,
                                                      listed, NOW])
    risk = risk_table(db).set_index("company_id")
    assert sorted(risk.index) == ["000001.SZ", "600002.SH"]
    assert risk.loc["000001.SZ", "flags"] == ["gone_2025", "*ST"]
    assert risk.loc["600002.SH", "flags"] == []


def test_clean_short_name_and_share_counts() -> None:
    assert share_count_wan("19,405,918,198") == pytest.approx(1940591.8198)
    assert share_count_wan("") is None and share_count_wan("0") is None
    assert clean_short_name("万  科Ａ") == "万科A"
    assert clean_short_name("  ") is None
    assert clean_short_name(None) is None


def test_szse_status_judges_shenzhen_codes_only() -> None:
    companies = pd.DataFrame({"company_id": ["000001.SZ", "000009.SZ", "600000.SH"],
                              "exchange": ["SZ", "SZ", "SH"]})
    szse = pd.DataFrame({"company_id": ["000001.SZ"], "short_name": ["ST甲"]})
    out = szse_status(companies, szse).set_index("company_id")
    assert out.loc["000001.SZ", "in_szse_2025"]
    assert out.loc["000001.SZ", "short_name_2025"] == "ST甲"
    assert not out.loc["000009.SZ", "in_szse_2025"]
    assert out["in_szse_2025"].isna().tolist() == [False, False, True]
    # an extract without A股简称 tells nothing about standing
    silent = szse_status(companies, szse.drop(columns="short_name"))
    assert silent["in_szse_2025"].isna().all()


def _with_short_names(folder: Path, names: dict[str, str]) -> None:
    """Rewrite the bundle's SZSE sheet as the full export: with an A股简称 column."""
    path = folder / "listed-companies" / "szse_a_list.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book.active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    code = rows[0].index("A股代码")
    fresh = openpyxl.Workbook()
    out = fresh.active
    out.append([*rows[0], "A股简称"])
    for row in rows[1:]:
        out.append([*row, names.get(str(row[code]), "")])
    fresh.save(path)


def test_build_stores_the_2025_standing(tmp_path: Path) -> None:
    folder = make_bundle(tmp_path / "bundle")
    _with_short_names(folder, {"002603": "ST以岭", "300054": "鼎龙股份"})
    bundle: list[FetchedFile] = unpinned_bundle(folder)
    szse = read_szse(folder / "listed-companies" / "szse_a_list.xlsx", "szse")
    assert list(szse["short_name"]) == ["ST以岭", "鼎龙股份"]
    store = Database()
    build_store(store, bundle)
    risk = risk_table(store).set_index("company_id")
    assert risk.loc["002603.SZ", "flags"] == ["ST"]
    assert risk.loc["300054.SZ", "flags"] == []
    assert risk.loc["300265.SZ", "flags"] == ["gone_2025"]  # Shenzhen, not on the list
    assert risk.loc["600812.SH", "flags"] == []
