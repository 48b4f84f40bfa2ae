"""The 政策解读 page (/intake): its pure pieces (the escaped highlight of an item's span in
its sentence, the fields and results in Chinese, the edit form's edits, uploads as text)
and the page, driven by NiceGUI's simulated user on the web store of
tests/test_web_pages.py: a viewer reads a draft without review buttons; an analyst saves
it and accepts, edits or rejects its items, which become ledger targets and priority
nodes."""

from __future__ import annotations

import zipfile
from io import BytesIO
from typing import Any

import numpy as np
import pytest
from nicegui import ElementFilter, ui
from nicegui.testing import User

from chainatlas.errors import InputError, ParameterError
from chainatlas.intake.draft import item_sentence
from chainatlas.intake.review import draft_items, drafts_frame, priority_nodes
from chainatlas.projects.targets import get_target
from chainatlas.web.pages import PAGE_PATHS, intake
from chainatlas.web.pages.intake import (
    SENTENCE_WINDOW,
    default_name,
    edit_default,
    highlight_html,
    item_fields,
    mapped_zh,
    plain,
    result_zh,
    review_edits,
    text_of_upload,
    value_zh,
)
from chainatlas.web.state import request_db
from tests import test_web_pages as pages
from tests.helpers import XSS
from tests.test_web_pages import _one, eventually, sign_in

web_store, user, nicegui_storage = pages.web_store, pages.user, pages.nicegui_storage
served_store = pages.served_store

pytestmark = pytest.mark.usefixtures("keep_modules")
anyio = pytest.mark.anyio

PLAN = ("到2027年，全市生物医药产业营业收入突破1000亿元，重点发展疫苗和抗体药物。\n"
        "引进华北制药股份有限公司。")
NAMES = {"biomedicine": {"name": "生物医药", "nodes": {"bm_vaccines": "疫苗",
                                                      "bm_api": "化学原料药"}}}


# -- pure pieces ----------------------------------------------------------------------------


def test_highlight_marks_the_span_and_escapes_the_text() -> None:
    assert highlight_html("营收突破1000亿元。", 4, 10) == "营收突破<mark>1000亿元</mark>。"
    sentence = f"甲{XSS}乙&丙"
    out = highlight_html(sentence, 1, 1 + len(XSS))
    assert out == "甲<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>乙&amp;丙"
    assert "<script>" not in highlight_html(sentence, 0, 1)
    assert highlight_html('"引号"', 0, 4) == "<mark>&quot;引号&quot;</mark>"


def test_highlight_offsets_at_the_ends() -> None:
    assert highlight_html("疫苗和抗体", 0, 2) == "<mark>疫苗</mark>和抗体"
    assert highlight_html("疫苗和抗体", 3, 5) == "疫苗和<mark>抗体</mark>"
    assert highlight_html("疫苗和抗体", 0, 5) == "<mark>疫苗和抗体</mark>"
    assert highlight_html("疫苗", 1, 1) == "疫苗"  # an empty span marks nothing
    assert highlight_html("疫苗", -3, 99) == "<mark>疫苗</mark>"  # clamped to the text
    assert highlight_html("疫苗", 2, 1) == "疫苗"
    assert highlight_html("", 0, 0) == ""


def test_offsets_are_characters_not_bytes() -> None:
    text = "𠀀生物医药😀疫苗"  # a character outside the BMP, and an emoji before the span
    start = text.index("疫苗")
    assert highlight_html(text, start, start + 2) == "𠀀生物医药😀<mark>疫苗</mark>"


def _marked(text: str, item: dict[str, Any]) -> str:
    sentence, start, end = item_sentence(text, item, SENTENCE_WINDOW)
    return sentence[start:end]


def test_item_sentence_of_figures_and_of_named_things() -> None:
    figure = {"kind": "target", "start": 21, "end": 27, "sentence_start": 0,
              "sentence_end": 40}
    sentence, start, end = item_sentence(PLAN, figure, SENTENCE_WINDOW)
    assert sentence == PLAN[:40] and sentence[start:end] == "1000亿元"
    # a direction carries no sentence: it is found between sentence ends
    vaccine = {"kind": "direction", "start": 32, "end": 34}
    assert item_sentence(PLAN, vaccine, SENTENCE_WINDOW)[0] == PLAN[:40]
    firm_at = PLAN.index("华北")
    firm = {"kind": "firm", "start": firm_at, "end": firm_at + 10}
    sentence, start, end = item_sentence(PLAN, firm, SENTENCE_WINDOW)
    assert sentence == "引进华北制药股份有限公司。"
    assert sentence[start:end] == "华北制药股份有限公司"
    spaced = "一句。\n\n  重点发展疫苗  \n下一句"
    at = spaced.index("疫苗")
    assert item_sentence(spaced, {"start": at, "end": at + 2}, SENTENCE_WINDOW)[0] == "重点发展疫苗"
    assert _marked("疫苗", {"start": 0, "end": 2}) == "疫苗"  # no sentence end at all


def test_an_overlong_sentence_is_cut_around_its_span() -> None:
    text = "甲" * 500 + "疫苗" + "乙" * 500 + "。"
    at = 500
    sentence, start, end = item_sentence(text, {"start": at, "end": at + 2}, SENTENCE_WINDOW)
    assert sentence.startswith("…") and sentence.endswith("…")
    assert len(sentence) <= intake.SENTENCE_WINDOW + 2 and sentence[start:end] == "疫苗"
    head = item_sentence("疫苗" + "乙" * 500, {"start": 0, "end": 2}, SENTENCE_WINDOW)[0]
    assert head.startswith("疫苗") and head.endswith("…")


def test_fields_in_chinese() -> None:
    target = {"kind": "target", "indicator": "全市生物医药产业营业收入", "value": 1000.0,
              "unit": "亿元", "period": "2027", "qualifier": "突破", "body": "石家庄市"}
    assert item_fields(target, NAMES) == [
        ("指标", "全市生物医药产业营业收入"), ("数值", "1000 亿元"), ("时期", "2027"),
        ("限定", "突破"), ("主体", "石家庄市"), ("台账指标", "营业收入")]
    achieved = {**target, "kind": "achieved", "value": [5.0, 6.5], "unit": "%",
                "qualifier": None}
    assert ("数值", "5–6.5 %") in item_fields(achieved, NAMES)
    assert ("限定", "—") in item_fields(achieved, NAMES)
    odd = {**target, "indicator": "城镇调查失业率", "unit": "%"}
    assert item_fields(odd, NAMES)[-1] == ("台账指标", "需在修改中指定")
    assert value_zh({"value": 1234567.0, "unit": "万元"}) == "1234567 万元"
    assert item_fields({"kind": "place", "text": "鹿泉经开区", "place_kind": "zone",
                        "park": "鹿泉经济开发区", "adcode": "130110"}, NAMES)[1:] == [
        ("类别", "园区"), ("对应", "鹿泉经济开发区")]
    assert item_fields({"kind": "firm", "text": "某公司", "company_id": None}, NAMES)[1] == (
        "企业库", "库外企业")
    assert item_fields({"kind": "project_batch", "text": "48个、总投资215亿元", "projects": 48.0,
                        "amount_yi": None}, NAMES)[1:] == [("项目数", "48 个"), ("总投资", "—")]


def test_mapped_directions() -> None:
    assert mapped_zh({"chain_id": "biomedicine", "node_id": "bm_vaccines"}, NAMES) == \
        "生物医药 / 疫苗"
    assert mapped_zh({"chain_id": "biomedicine", "node_id": None}, NAMES) == "生物医药（整条链）"
    assert mapped_zh({"chain_id": None, "node_id": None}, NAMES) == "未映射"
    assert mapped_zh({"chain_id": "gone", "node_id": "x"}, NAMES) == "gone / x"


def test_review_results_in_chinese() -> None:
    assert result_zh({"status": "accepted", "result": "target:7", "reviewed_by": "fenxi"},
                     NAMES) == "已采纳，已生成目标 #7 · 审核人 fenxi"
    assert result_zh({"status": "edited", "result": "priority:biomedicine/bm_api"},
                     NAMES) == "修改后采纳，已设为重点环节（生物医药 / 化学原料药）"
    assert result_zh({"status": "accepted", "result": None}, NAMES) == "已采纳，仅作记录"
    assert result_zh({"status": "rejected", "result": None}, NAMES) == "已驳回"


def test_edits_of_the_form() -> None:
    target = {"kind": "target", "indicator": "营业收入", "value": [900.0, 1000.0],
              "unit": "亿元", "period": "2027"}
    assert edit_default(target, "value") == 1000.0
    assert edit_default(target, "indicator_key") == "revenue"
    assert edit_default(target, "name") == "营业收入"
    unchanged = {"name": "营业收入", "indicator_key": "revenue", "value": "1000",
                 "period": "2027", "chain_id": "", "base_value": " "}
    assert review_edits(target, unchanged) == {}
    assert review_edits(target, {**unchanged, "value": " 1200.5 ", "chain_id": "biomedicine",
                                 "base_value": "800"}) == {
        "value": 1200.5, "chain_id": "biomedicine", "base_value": 800.0}
    with pytest.raises(ParameterError, match="目标值"):
        review_edits(target, {"value": "一千"})
    direction = {"kind": "direction", "chain_id": "biomedicine", "node_id": "bm_vaccines"}
    assert review_edits(direction, {"chain_id": "biomedicine", "node_id": "bm_vaccines"}) == {}
    assert review_edits(direction, {"chain_id": "biomedicine", "node_id": "bm_api"}) == {
        "chain_id": "biomedicine", "node_id": "bm_api"}
    # a new chain keeps none of the old chain's node
    assert review_edits(direction, {"chain_id": "ev", "node_id": None}) == {
        "chain_id": "ev", "node_id": None}


def test_default_name_and_plain_cells() -> None:
    assert default_name("\n  石家庄市2025年工作要点 \n正文") == "石家庄市2025年工作要点"
    assert default_name("") == "政策文本"
    assert len(default_name("长" * 100)) == 40 and default_name("长" * 100).endswith("…")
    assert plain(float("nan")) is None and plain(None) is None
    assert plain([1.0, 2.0]) == [1.0, 2.0] and plain("a") == "a"
    assert type(plain(np.int64(3))) is int and plain(np.float64(2.5)) == 2.5


def _docx(paragraphs: list[str]) -> bytes:
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("word/document.xml",
                      f'<w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>')
    return buffer.getvalue()


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (Adobe's STSong-Light CID font with
    the UniGB-UCS2-H encoding: the strings are UTF-16BE, no font file embedded)."""
    content = "BT /F1 12 Tf 72 760 Td 14 TL " + " ".join(
        f"<{line.encode('utf-16-be').hex().upper()}> Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        "/DescendantFonts [6 0 R] >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
        "<< /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R >>",
        "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900] "
        "/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    return out + (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n"
                  f"{xref}\n%%EOF\n").encode()


def test_uploads_become_text() -> None:
    assert text_of_upload(PLAN.encode("gb18030"), "计划.txt") == PLAN
    page = "<html><head><style>p{}</style></head><body><p>重点发展疫苗。</p></body></html>"
    assert text_of_upload(page.encode(), "a/b/页面.HTML") == "重点发展疫苗。"
    assert text_of_upload(_docx(["标题", "重点发展疫苗。"]), "方案.docx") == "标题\n重点发展疫苗。"
    assert text_of_upload(_pdf(["标题", "重点发展疫苗。"]), "方案.PDF").split() == [
        "标题", "重点发展疫苗。"]
    with pytest.raises(InputError, match=r"cannot read \.xlsx"):
        text_of_upload(b"x", "表.xlsx")
    with pytest.raises(InputError, match=r"方案\.docx"):
        text_of_upload(b"not a zip", "方案.docx")
    with pytest.raises(InputError, match="empty"):
        text_of_upload(b"  ", "空.txt")


# -- the page -------------------------------------------------------------------------------


@pytest.fixture
def page_user(user: User) -> User:
    """The simulated user, with /intake defined until the navigation lists it."""
    if "/intake" not in PAGE_PATHS:
        @ui.page("/intake")
        async def intake_page() -> None:
            await intake.page().show()
    return user


async def _read(user: User, text: str = PLAN) -> None:
    await user.open("/intake")
    await user.should_see(marker="intake-text")
    user.find(marker="intake-text").type(text)
    user.find(marker="intake-run").click()
    await user.should_see("目标与实绩", retries=100)


def _sentences(user: User) -> list[str]:
    with user:
        return [str(e.content) for e in ElementFilter(kind=ui.html, marker="item-sentence")]


def _latest_draft() -> int:
    with request_db() as db:
        return int(drafts_frame(db)["draft_id"].iloc[0])


def _item_id(draft_id: int, kind: str, text: str) -> int:
    with request_db() as db:
        items = draft_items(db, draft_id)
    return int(items[(items["kind"] == kind) & (items["text"] == text)]["item_id"].iloc[0])


@anyio
async def test_a_viewer_reads_a_draft_without_review_buttons(page_user: User) -> None:
    user = page_user
    await _read(user)
    assert _one(user, "intake-region").value == "石家庄市"  # the page's region
    await user.should_see("全市生物医药产业营业收入", marker="group-target")
    await user.should_see("1000 亿元", marker="group-target")
    await user.should_see("生物医药 / 人用疫苗", marker="group-direction")
    assert "到2027年，全市生物医药产业营业收入突破<mark>1000亿元</mark>，重点发展疫苗和抗体药物。" \
        in _sentences(user)
    assert "引进<mark>华北制药股份有限公司</mark>。" in _sentences(user)
    assert _one(user, "item-firm-link").props["href"] == "/firm/600812.SH"
    await user.should_see("目标 1", marker="intake-counts")
    await user.should_see(marker="intake-sign-in")
    for marker in ("intake-save", "item-accept", "item-reject", "intake-drafts"):
        await user.should_not_see(marker=marker)


@anyio
async def test_markup_in_the_text_stays_text(page_user: User) -> None:
    await _read(page_user, f"{XSS}到2027年，营业收入突破1000亿元。")
    shown = "".join(_sentences(page_user))
    assert "<script>" not in shown and "&lt;script&gt;" in shown


@anyio
async def test_an_unknown_region_is_a_notice(page_user: User) -> None:
    user = page_user
    await user.open("/intake")
    await user.should_see(marker="intake-text")
    user.find(marker="intake-region").clear().type("火星市")
    user.find(marker="intake-text").type(PLAN)
    user.find(marker="intake-run").click()
    await user.should_see("未能解读", retries=100)
    await user.should_not_see("目标与实绩")


@anyio
async def test_an_uploaded_file_fills_the_text_box(page_user: User) -> None:
    user = page_user
    await user.open("/intake")
    await user.should_see(marker="intake-upload")
    upload = _one(user, "intake-upload")
    await upload.handle_uploads([ui.upload.SmallFileUpload(
        "工作要点.txt", "text/plain", PLAN.encode("gbk"))])
    await eventually(lambda: _one(user, "intake-text").value == PLAN)
    assert _one(user, "intake-name").value == "工作要点"
    await upload.handle_uploads([ui.upload.SmallFileUpload(
        "行动方案.pdf", "application/pdf", _pdf(["到2027年，营业收入突破1000亿元。"]))])
    await eventually(lambda: "营业收入突破1000亿元" in _one(user, "intake-text").value)
    assert _one(user, "intake-name").value == "工作要点"  # a name given is kept
    await upload.handle_uploads([ui.upload.SmallFileUpload("表.xlsx", "x", b"x")])
    await user.should_see("未能读取文件", retries=50)


@anyio
async def test_an_analyst_saves_and_reviews_a_draft(page_user: User) -> None:
    user = page_user
    await sign_in(user)
    await _read(user)
    await user.should_not_see(marker="intake-sign-in")
    user.find(marker="intake-save").click()
    await user.should_see("已保存草稿", retries=100)
    draft_id = _latest_draft()
    await user.should_see(f"草稿 #{draft_id}", retries=50)
    target = _item_id(draft_id, "target", "1000亿元")
    await user.should_see(marker=f"accept-{target}", retries=100)  # the stored items drawn
    user.find(marker=f"accept-{target}").click()
    await user.should_see("已生成目标 #", retries=100)
    with request_db() as db:
        result = str(draft_items(db, draft_id).set_index("item_id").loc[target, "result"])
        row = get_target(db, int(result.split(":")[1]))
    assert (row["indicator"], row["region_adcode"], row["chain_id"]) == (
        "revenue", "130100", "biomedicine")
    assert float(row["target_value"]) == 1000.0 and row["period_end"].year == 2027
    await user.should_not_see(marker=f"accept-{target}")
    vaccine = _item_id(draft_id, "direction", "疫苗")
    user.find(marker=f"accept-{vaccine}").click()
    await user.should_see("已设为重点环节（生物医药 / 人用疫苗）", retries=100)
    antibody = _item_id(draft_id, "direction", "抗体药物")
    user.find(marker=f"edit-{antibody}").click()
    await user.should_see(marker=f"confirm-{antibody}")
    with user:
        _one(user, f"edit-node_id-{antibody}").value = "bm_api"
    user.find(marker=f"confirm-{antibody}").click()
    await user.should_see("修改后采纳，已设为重点环节", retries=100)
    with request_db() as db:
        nodes = {r["node_id"] for r in priority_nodes(db, "130100", "biomedicine")}
    assert {"bm_vaccines", "bm_api"} <= nodes and "bm_antibodies" not in nodes
    firm = _item_id(draft_id, "firm", "华北制药股份有限公司")
    user.find(marker=f"reject-{firm}").click()
    await user.should_see("已驳回", retries=100)
    await eventually(lambda: _one(user, "intake-drafts").rows[0]["rejected"] == 1)


@anyio
async def test_a_saved_draft_reopens_with_its_reviews(page_user: User) -> None:
    user = page_user
    text = "到2026年，营业收入突破500亿元，重点发展疫苗。"
    await sign_in(user)
    await _read(user, text)
    user.find(marker="intake-save").click()
    await user.should_see("已保存草稿", retries=100)
    draft_id = _latest_draft()
    await user.should_see(f"草稿 #{draft_id}", retries=50)  # the stored items are drawn
    figure = _item_id(draft_id, "target", "500亿元")
    await user.should_see(marker=f"edit-{figure}", retries=100)
    user.find(marker=f"edit-{figure}").click()  # 修改后采纳: a new value and a chain
    await user.should_see(marker=f"confirm-{figure}")
    user.find(marker=f"edit-value-{figure}").clear().type("600")
    with user:
        _one(user, f"edit-chain_id-{figure}").value = "biomedicine"
    user.find(marker=f"confirm-{figure}").click()
    await user.should_see("修改后采纳，已生成目标 #", retries=100)
    with request_db() as db:
        result = str(draft_items(db, draft_id).set_index("item_id").loc[figure, "result"])
        row = get_target(db, int(result.split(":")[1]))
    assert (float(row["target_value"]), row["chain_id"], row["period_end"].year) == (
        600.0, "biomedicine", 2026)
    vaccine = _item_id(draft_id, "direction", "疫苗")
    user.find(marker=f"reject-{vaccine}").click()
    await user.should_see("已驳回", retries=100)
    await user.open(f"/intake?draft={draft_id}")
    await user.should_see(f"草稿 #{draft_id}", retries=100)
    await user.should_see("已驳回 · 审核人", marker="item-result")
    await user.should_see("修改后采纳，已生成目标", marker="item-result")
    assert _one(user, "intake-text").value == text
    rows = _one(user, "intake-drafts").rows
    assert rows[0]["draft_id"] == draft_id and (rows[0]["accepted"], rows[0]["rejected"]) == (
        1, 1)
    for marker in ("intake-save", "item-accept", "item-reject"):
        await user.should_not_see(marker=marker)
