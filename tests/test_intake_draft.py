"""A draft plan read from a local report: targets vs results, bodies, directions, places,
project batches; files in txt, docx and html; the intake command."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chainatlas.cli import app
from chainatlas.errors import InputError
from chainatlas.intake.draft import draft_from_text, text_year
from chainatlas.intake.extract import extract_statements
from chainatlas.intake.text import text_from_bytes, text_from_file, text_from_html
from chainatlas.store import Database
from tests.helpers import built_store

REPORT = """石家庄市2025年政府工作报告（摘要）

一、2024年工作回顾
过去一年，全市地区生产总值增长6.1%，生物医药产业营业收入达到1186亿元，签约项目48个、总投资215亿元。

二、2025年主要目标
今年全市地区生产总值增长6%左右，规模以上工业增加值增长7%以上。重点发展疫苗、抗体药物和低空经济。\
力争生物医药产业营业收入突破1300亿元，三年倍增。高新区新签约亿元以上项目不少于30个，到位资金150亿元。
"""


def _figures(items: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(i["text"], i["kind"], i["value"], i["unit"], i["qualifier"], i["period"],
             i["body"]) for i in items if i["kind"] in ("target", "achieved")]


def test_targets_and_results_of_a_city_report(mini_db: Database) -> None:
    draft = draft_from_text(mini_db, REPORT, region="石家庄市")
    assert draft.year == 2025
    assert _figures(draft.items) == [
        ("6.1%", "achieved", 6.1, "%", None, "2024", "石家庄市"),
        ("1186亿元", "achieved", 1186.0, "亿元", None, "2024", "石家庄市"),
        ("48个", "achieved", 48.0, "个", None, "2024", "石家庄市"),
        ("215亿元", "achieved", 215.0, "亿元", None, "2024", "石家庄市"),
        ("6%", "target", 6.0, "%", "左右", "2025", "石家庄市"),
        ("7%", "target", 7.0, "%", "以上", "2025", "石家庄市"),
        ("1300亿元", "target", 1300.0, "亿元", "突破", "2025", "石家庄市"),
        ("三年倍增", "target", 25.99, "%/年", None, "2025", "石家庄市"),
        ("30个", "target", 30.0, "个", "不少于", "2025", "石家庄高新技术产业开发区"),
        ("150亿元", "target", 150.0, "亿元", None, "2025", "石家庄高新技术产业开发区")]
    for item in draft.items:
        assert REPORT[item["start"]:item["end"]] == item["text"]  # exact spans
    batches = [i for i in draft.items if i["kind"] == "project_batch"]
    assert (batches[0]["projects"], batches[0]["amount_yi"], batches[0]["status"]) == (
        48.0, 215.0, "achieved")
    directions = {(i["text"], i["node_id"]) for i in draft.items if i["kind"] == "direction"}
    assert {("疫苗", "bm_vaccines"), ("抗体药物", "bm_antibodies"),
            ("低空经济", None)} <= directions


def test_a_plan_without_sections_reads_as_targets() -> None:
    found = extract_statements("到2027年，全区生物医药产业规模达到500亿元。", year=2025)
    assert [(s.kind, s.period, s.indicator) for s in found] == [
        ("target", "2027", "全区生物医药产业规模")]
    assert text_year("关于2026年工作的报告") == 2026 and text_year("无年份") is None


def test_files_of_every_kind(tmp_path: Path) -> None:
    gbk = tmp_path / "report.txt"
    gbk.write_bytes(REPORT.encode("gb18030"))
    assert text_from_file(gbk).startswith("石家庄市2025年")
    docx = tmp_path / "plan.docx"
    body = ('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
            'main"><w:body><w:p><w:r><w:t>一、主要目标</w:t></w:r></w:p><w:p><w:r><w:t>'
            '增长6%</w:t></w:r><w:r><w:t>左右</w:t></w:r></w:p></w:body></w:document>')
    with zipfile.ZipFile(docx, "w") as book:
        book.writestr("word/document.xml", body)
    assert text_from_file(docx) == "一、主要目标\n增长6%左右"
    assert text_from_html("<html><head><style>p{}</style></head><body><p>增长6%</p>"
                          "<script>x=1</script><div>左右</div></body></html>") == "增长6%\n\n左右"
    with pytest.raises(InputError, match="empty"):
        text_from_bytes(b"  ", "x.txt")
    sheet = tmp_path / "a.xls"
    sheet.write_text("x")
    with pytest.raises(InputError, match=r"cannot read \.xls"):
        text_from_file(sheet)


def test_the_intake_command(tmp_path: Path) -> None:
    store = built_store(tmp_path)
    report = tmp_path / "report.txt"
    report.write_text(REPORT, encoding="utf-8")
    result = CliRunner().invoke(app, ["intake", str(report), "--region", "石家庄市",
                                      "--db", str(store), "--json"])
    assert result.exit_code == 0, result.output
    draft = json.loads(result.output)
    assert draft["counts"]["target"] == 6 and draft["region"]["adcode"] == "130100"
    result = CliRunner().invoke(app, ["intake", str(report), "--db", str(store)])
    assert result.exit_code == 0 and "目标与成效" in result.output
    result = CliRunner().invoke(app, ["intake", str(report), "--region", "石家庄市",
                                      "--save", "2025年政府工作报告", "--db", str(store)])
    assert result.exit_code == 0 and "Saved as draft 1" in result.output
    with Database(store) as db:
        assert db.scalar("SELECT count(*) FROM intake_items WHERE draft_id = 1") == len(
            draft["items"])


def _kinds(text: str, year: int | None = 2026) -> dict[str, str]:
    return {s.text: s.kind for s in extract_statements(text, year=year)}


def test_a_paragraph_keeps_the_time_frame_its_sentences_open_with() -> None:
    # The answer sets "前三季度" once; its next sentence reports results without a cue.
    text = ("到2028年，全区营业收入突破800亿元。\n"
            "前三季度，全区新签约项目64个。签约项目开工率达到61%，外资4260万美元。\n"
            "园区要引进企业20家。")
    assert _kinds(text) == {"800亿元": "target", "64个": "achieved",
                            "61%": "achieved", "4260万美元": "achieved", "20家": "target"}


def test_a_cue_inside_a_sentence_sets_no_frame() -> None:
    # "从去年的2.1%" is a reference point, not a review: the deficits after it are plans.
    text = "今年赤字率拟按3%安排，比去年的2.1%提高。其中，中央财政赤字1.12万亿元。"
    assert _kinds(text, 2015)["1.12万亿元"] == "target"


def test_the_present_and_the_perfective_report_results() -> None:
    text = ("力争全年引进企业50家。今年以来新引进企业三十余家；园区现有企业152家；"
            "区里设立了规模10亿元的基金，从签约到开工仅用了58天。")
    assert _kinds(text) == {"50家": "target", "三十余家": "achieved", "152家": "achieved",
                            "10亿元": "achieved", "58天": "achieved"}


def test_a_figure_in_a_document_title_is_no_statement() -> None:
    text = "区政府印发了《生物医药产业倍增行动方案（2026—2028年）》，力争营业收入突破500亿元。"
    assert list(_kinds(text)) == ["500亿元"]


@pytest.mark.parametrize(("text", "year"), [
    ("记者：谈谈去年。区长：2025年，全区生产总值完成403.8亿元。\n记者：今年是“十五五”开局之年，"
     "前三季度如何？", 2026),
    ("2025年，全市经济回升向好。2027年是全面完成规划目标的关键一年。", 2027),
    ("今年是“十四五”收官之年。2024年全市生产总值增长5%。", 2025),
    ("2024年，全市经济回升向好。", 2024),
    ("没有年份的文字。", None),
])
def test_the_year_a_text_speaks_of(text: str, year: int | None) -> None:
    assert text_year(text) == year
