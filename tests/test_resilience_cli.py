"""``chainatlas resilience``: tables, --json, --remove, --theta, --level, --xlsx, clean errors,
on the tiny chain (tests/resilience_helpers.py); one run on the real mirror's store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from chainatlas import cli
from chainatlas.analysis import resilience_report
from chainatlas.analysis.resilience_views import resilience_view
from chainatlas.cli_resilience import print_resilience, print_whatif
from chainatlas.store import Database
from tests.resilience_helpers import TINY_POINTS, tiny_store_file

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_store_file(Path(tmp_path_factory.mktemp("resilience-cli")))


@pytest.fixture(autouse=True)
def tiny_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resilience_report, "builtin_chokepoints", lambda: TINY_POINTS)


def flat(output: str) -> str:
    return " ".join(output.split())


def run(store: Path, *args: str, code: int = 0) -> Any:
    result = runner.invoke(cli.app, ["resilience", *args, "--db", str(store)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result


def test_tables_summary_chokepoints_and_limits(tiny_file: Path) -> None:
    out = flat(run(tiny_file, "石家庄市", "--chain", "tiny").stdout)
    assert "石家庄市 · 小链 韧性分析（环节级 · 上市企业 · θ=0.5）" in out
    assert "单点风险 5" in out and "θ=0.25 3；θ=0.5 3（所选）；θ=1 5" in out
    assert "甲源科技" in out  # 甲原料's sole local firm
    assert "乙部件芯片" in out and "庚二材料" in out and "别链技术" not in out
    assert "供应关系不带权重" in out  # the limits close every output
    firms = json.loads(run(tiny_file, "石家庄市", "--chain", "tiny", "--json").stdout)[
        "resilience"]["firms"]
    assert firms > 20 and f"网络中企业 {firms} 家" in out
    assert "情景推演" not in out


def test_json_carries_units_limits_and_no_whatif(tiny_file: Path) -> None:
    body = json.loads(run(tiny_file, "石家庄市", "--chain", "tiny", "--json").stdout)
    units = {u["unit_id"]: u for u in body["resilience"]["units"]}
    assert units["tn_b"]["chokepoints"] == ["乙部件芯片"]
    assert units["tn_w"]["sole_firm_name"] == "小戊配件"
    assert body["whatif"] is None and body["resilience"]["limits_zh"]


def test_remove_a_region_and_a_firm(tiny_file: Path) -> None:
    body = json.loads(run(tiny_file, "石家庄市", "--chain", "tiny", "--remove", "唐山市",
                          "--json").stdout)
    half = body["whatif"]["by_theta"]["0.5"]
    assert {u["unit_id"] for u in half["lost_local"]} == {"tn_c", "tn_d"}
    assert body["whatif"]["removed"]["regions"][0]["name"] == "唐山市"
    text = flat(run(tiny_file, "石家庄市", "--chain", "tiny", "--remove", "唐乙").stdout)
    assert "情景推演：移除 唐乙（网络中共移除 1 家企业）" in text
    assert "丙整机、丁服务" in text and "全国断供（所选 θ）：乙部件、丙整机、丁服务" in text
    # of those, what feeds the region's own supplied units (丁服务 feeds nothing)
    assert "其中本地所需的上游投入（须从境外或数据之外获得）：乙部件、丙整机" in text
    lenient = json.loads(run(tiny_file, "石家庄市", "--chain", "tiny", "--remove", "firm:唐乙",
                             "--theta", "1", "--json").stdout)
    assert lenient["whatif"]["theta"] == 1.0
    assert lenient["whatif"]["by_theta"]["1"]["lost_local"] == []


def test_product_level(tiny_file: Path) -> None:
    out = flat(run(tiny_file, "石家庄市", "--chain", "tiny", "--level", "product").stdout)
    assert "产品级" in out and "丙整机" in out
    assert "工商登记企业按" not in out  # no registry firm at product level


@pytest.mark.parametrize(("args", "message"), [
    (("火星市", "--chain", "tiny"), "No region named '火星市'"),
    (("石家庄市", "--chain", "nochain"), "No chain 'nochain'"),
    (("石家庄市", "--chain", "tiny", "--remove", "不存在公司"), "Nothing to remove named"),
    (("石家庄市", "--chain", "tiny", "--level", "firm"), "level must be one of node, product"),
])
def test_clean_errors(tiny_file: Path, args: tuple[str, ...], message: str) -> None:
    result = run(tiny_file, *args, code=1)
    assert message in flat(result.output) and "Traceback" not in result.output


def test_theta_out_of_range_is_a_usage_error(tiny_file: Path) -> None:
    assert run(tiny_file, "石家庄市", "--chain", "tiny", "--theta", "1.5", code=2)


def test_xlsx_round_trip(tiny_file: Path, tmp_path: Path) -> None:
    book_path = tmp_path / "韧性.xlsx"
    run(tiny_file, "石家庄市", "--chain", "tiny", "--remove", "唐山市", "--xlsx", str(book_path))
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["概要", "环节韧性", "单点风险", "情景推演", "卡脖子"]
    summary = {r[0]: r[1] for r in book["概要"].iter_rows(values_only=True) if r[0]}
    assert summary["地区"] == "石家庄市" and summary["单点风险（本地仅一家企业）"] == 5
    assert summary["移除"].startswith("唐山市全部企业")
    assert summary["θ=0.5（所选）"] == (
        "失去本地供应 2 个（占本地有供应单元 40%）：丙整机、丁服务；"
        "失去全国供应 3 个（占全链 38%）：乙部件、丙整机、丁服务；"
        "其中本地所需的上游投入：乙部件、丙整机")
    assert any("供应关系不带权重" in str(v) for v in summary.values())
    rows = list(book["环节韧性"].iter_rows(values_only=True))
    by_code = {r[1]: r for r in rows[1:]}
    header = rows[0]
    assert by_code["tn_w"][header.index("唯一本地企业")] == "小戊配件"
    assert by_code["tn_w"][header.index("韧性状态")] == "单点风险"
    assert by_code["tn_b"][header.index("卡脖子技术")] == "乙部件芯片"
    whatif = {r[1]: r for r in book["情景推演"].iter_rows(values_only=True) if r[1]}
    assert whatif["tn_c"][2] == "全国断供" and whatif["tn_a"][2] == "单点风险"
    points = list(book["卡脖子"].iter_rows(values_only=True))
    assert [r[1] for r in points[1:]] == ["乙部件芯片", "庚二材料"]
    assert points[1][2] == "乙部件" and points[1][3] == 0


def test_xlsx_into_a_missing_folder_is_refused_first(tiny_file: Path, tmp_path: Path) -> None:
    result = run(tiny_file, "石家庄市", "--chain", "tiny", "--xlsx",
                 str(tmp_path / "nope" / "x.xlsx"), code=1)
    assert "does not exist" in flat(result.output)


def test_universe_option(tiny_file: Path) -> None:
    body = json.loads(run(tiny_file, "石家庄市", "--chain", "tiny", "--universe", "上市企业",
                          "--json").stdout)
    assert body["resilience"]["universe"] == "listed"
    assert "choose one of" in flat(run(tiny_file, "石家庄市", "--chain", "tiny", "--universe",
                                       "foreign", code=1).output)


def test_on_the_real_mirror(real_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    # the library call the command makes, on the session's store (the CLI would open the
    # file a second time), then the command's renderers
    view = resilience_view(real_db, "石家庄市", "生物医药", ["上海市"])
    result = view["resilience"]
    assert result["summary"]["units"] >= 30 and result["chokepoints"]
    assert view["whatif"]["removed"]["firms_removed"] > 0
    print_resilience(result, 5)
    print_whatif(view["whatif"])
    out = flat(capsys.readouterr().out)
    assert "石家庄市 · 生物医药 韧性分析" in out and "情景推演：移除 上海市全部企业" in out


def test_unit_names_survive_an_80_column_console(tiny_file: Path) -> None:
    from rich.console import Console

    from chainatlas.cli_resilience import unit_table

    body = json.loads(run(tiny_file, "石家庄市", "--chain", "tiny", "--json").stdout)
    result = body["resilience"]
    long_name = "植物提取物与天然药物原料"
    for unit in result["units"]:
        unit["name_zh"] = long_name + unit["unit_id"]
        unit["chokepoints"] = ["高端电容电阻、医学影像设备元器件"]
    table, shown = unit_table(result)
    console = Console(width=80, record=True)
    console.print(table)
    text = "".join(console.export_text().split())  # folded cells joined again
    assert shown > 0 and text.count(long_name[:5]) >= shown
