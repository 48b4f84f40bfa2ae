"""政策解读 (/intake): a policy text read into a draft plan, reviewed item by item.

The page twin of ``chainatlas intake``: paste a text or upload a file (.txt, .docx, .pdf,
.html), give its region (the page's by default) and year; 解读 reads it into items grouped
by kind (:func:`~chainatlas.intake.draft.draft_from_text`), each in its sentence with its
exact span highlighted. An analyst saves the draft and accepts, edits and accepts, or
rejects each item (:mod:`chainatlas.intake.review`): an accepted target becomes a ledger
target, an accepted direction a priority node; saved drafts reopen at ``/intake?draft=N``.
Writes run as the signed-in user through the project pages' writer; a viewer only reads.
The text is untrusted: :func:`highlight_html` escapes it for the page's one ``ui.html``.
"""

from __future__ import annotations

import html
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from nicegui import events, run, ui

from chainatlas.errors import ChainAtlasError, InputError, NotFoundError, ParameterError
from chainatlas.intake.draft import Draft, draft_from_text, item_sentence
from chainatlas.intake.review import (
    draft_items,
    drafts_frame,
    indicator_from_item,
    review_item,
    save_draft,
    stored_draft,
)
from chainatlas.intake.text import SUFFIXES, text_from_bytes, text_from_file, text_from_html
from chainatlas.projects.targets import INDICATORS
from chainatlas.store import Database
from chainatlas.store.lookup import chain_from_text, region_names
from chainatlas.store.users import User
from chainatlas.web.pages.layout import Frame, Selection, firm_url
from chainatlas.web.pages.projects import text_of
from chainatlas.web.pages.widgets import chip, data_table, empty_note, link_cells, load, section
from chainatlas.web.pages.writing import page_write, page_writer, sign_in_note

KINDS = {"target": ("目标", "#C8102E"), "achieved": ("实绩", "#2E9D5B"),
         "direction": ("方向", "#1D4F91"), "place": ("地区/园区", "#6B7280"),
         "firm": ("企业", "#F08C00"), "project_batch": ("项目批次", "#7B3FA0")}
KIND_LABELS = {kind: label for kind, (label, _) in KINDS.items()}
#: The draft's sections: title, the kinds they hold, what they say.
GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("目标与实绩", ("target", "achieved"), "采纳的目标进入目标台账；实绩仅作记录"),
    ("产业方向", ("direction",), "采纳已映射到环节的方向，设为本地区重点环节"),
    ("地区与园区", ("place",), "文中提到的县区与园区"),
    ("企业", ("firm",), "文中提到的企业，库内企业可打开画像"),
    ("项目批次", ("project_batch",), "项目数与同句的投资额"))
#: The fields 修改后采纳 offers per kind (what :func:`review_item` reads from its edits).
EDIT_FIELDS = {"target": ("name", "indicator_key", "value", "period", "chain_id", "base_value"),
               "direction": ("chain_id", "node_id")}
EDIT_LABELS = {"name": "目标名称", "indicator_key": "台账指标", "value": "目标值（原单位）",
               "period": "时期（2027 或 2026-2028）", "chain_id": "产业链",
               "base_value": "基期值（可选）", "node_id": "环节"}
_NUMBERS = ("value", "base_value")
STATUS_LABELS = {"accepted": "已采纳", "edited": "修改后采纳", "rejected": "已驳回"}
SIGN_IN_NOTE = "登录分析员或管理员账号后，可保存草稿并逐条采纳、修改或驳回"
MAX_UPLOAD_BYTES = 20 * 2**20
#: The longest text read at once (a long work report is ~40,000 characters).
MAX_TEXT_CHARS = 300_000
#: The items a draft draws (each is a card): the rest are counted, not drawn.
MAX_ITEMS_SHOWN = 400
#: A sentence longer than this is cut to this many characters around its span.
SENTENCE_WINDOW = 240


# -- pure pieces ----------------------------------------------------------------------------


def highlight_html(sentence: str, start: int, end: int) -> str:
    """``sentence`` as HTML with ``sentence[start:end]`` in a <mark>; every character of
    the text escaped (offsets are of the text, in characters, clamped to it)."""
    start = max(0, min(start, len(sentence)))
    end = max(start, min(end, len(sentence)))
    marked = f"<mark>{html.escape(sentence[start:end])}</mark>" if end > start else ""
    return html.escape(sentence[:start]) + marked + html.escape(sentence[end:])


def _number(value: Any) -> str:
    return f"{float(value):.10g}"


def value_zh(item: Mapping[str, Any]) -> str:
    """A figure's normalised value and unit: 1000 亿元, 5–8 %."""
    value = item.get("value")
    if value is None:
        return "—"
    shown = "–".join(_number(v) for v in value) if isinstance(value, list) else _number(value)
    return f"{shown} {item.get('unit') or ''}".strip()


def mapped_zh(item: Mapping[str, Any], names: Mapping[str, Any]) -> str:
    """The chain and node a direction maps to, in Chinese, or 未映射."""
    chain_id, node_id = item.get("chain_id"), item.get("node_id")
    if not chain_id:
        return "未映射"
    chain = names.get(chain_id) or {"name": chain_id, "nodes": {}}
    return f"{chain['name']} / {chain['nodes'].get(node_id, node_id)}" if node_id \
        else f"{chain['name']}（整条链）"


def _figure_fields(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    fields = [("指标", str(item.get("indicator") or "—")), ("数值", value_zh(item)),
              ("时期", str(item.get("period") or "—")),
              ("限定", str(item.get("qualifier") or "—")), ("主体", str(item.get("body") or "—"))]
    if item["kind"] == "target":  # the ledger indicator acceptance would give it
        key = indicator_from_item(item)
        fields.append(("台账指标", INDICATORS[key].label if key else "需在修改中指定"))
    return fields


def item_fields(item: Mapping[str, Any], names: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What an item says, as (label, value) pairs in Chinese."""
    kind = item["kind"]
    if kind in ("target", "achieved"):
        return _figure_fields(item)
    text = ("原文", str(item.get("text") or ""))
    if kind == "direction":
        return [text, ("对应", mapped_zh(item, names))]
    if kind == "place":
        return [text, ("类别", "园区" if item.get("place_kind") == "zone" else "地区"),
                ("对应", str(item.get("park") or item.get("adcode") or "未解析"))]
    if kind == "firm":
        return [text, ("企业库", str(item.get("company_id") or "库外企业"))]
    if kind == "project_batch":
        amount = item.get("amount_yi")
        return [text, ("项目数", f"{_number(item['projects'])} 个"),
                ("总投资", f"{_number(amount)} 亿元" if amount is not None else "—")]
    return [text]


def result_zh(state: Mapping[str, Any], names: Mapping[str, Any]) -> str:
    """What a review did: 已采纳，已生成目标 #3 · 审核人 fenxi."""
    parts = [STATUS_LABELS.get(str(state.get("status")), str(state.get("status")))]
    result = str(state.get("result") or "")
    if result.startswith("target:"):
        parts.append(f"已生成目标 #{result.split(':', 1)[1]}")
    elif result.startswith("priority:"):
        chain_id, _, node_id = result.split(":", 1)[1].partition("/")
        parts.append("已设为重点环节（" + mapped_zh(
            {"chain_id": chain_id, "node_id": node_id}, names) + "）")
    elif state.get("status") != "rejected":
        parts.append("仅作记录")
    return "，".join(parts) + (f" · 审核人 {state['reviewed_by']}" if state.get("reviewed_by")
                              else "")


def edit_default(item: Mapping[str, Any], name: str) -> Any:
    """What a 修改后采纳 field starts from: the item's own value (a range's upper end,
    which the ledger keeps; the ledger indicator its words name; its indicator as name)."""
    if name == "name":
        return item.get("name") or item.get("indicator")
    if name == "indicator_key":
        return item.get("indicator_key") or indicator_from_item(item)
    value = item.get(name)
    return value[-1] if name == "value" and isinstance(value, list) else value


def review_edits(item: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The edits a 修改后采纳 form makes: the fields that differ from where they started
    (:func:`edit_default`), numbers as numbers (ParameterError when not), blanks left
    out. A direction's chain and node go together: a new chain keeps no old node."""
    edits: dict[str, Any] = {}
    for name, raw in values.items():
        text = str(raw if raw is not None else "").strip()
        if not text:
            continue
        value: Any = text
        if name in _NUMBERS:
            try:
                value = float(text)
            except ValueError:
                raise ParameterError(f"{EDIT_LABELS[name]}须为数字：{text}") from None
        if value != edit_default(item, name):
            edits[name] = value
    if item["kind"] == "direction" and edits:
        edits = {"chain_id": edits.get("chain_id", item.get("chain_id")),
                 "node_id": str(values.get("node_id") or "").strip() or None}
    return edits


def default_name(text: str, limit: int = 40) -> str:
    """A draft's name from its text: its first line (a plan's title), cut to ``limit``."""
    line = next((s.strip() for s in text.splitlines() if s.strip()), "政策文本")
    return line if len(line) <= limit else line[:limit - 1] + "…"


def text_of_upload(data: bytes, filename: str) -> str:
    """The text of an uploaded file by its suffix (see :mod:`chainatlas.intake.text`);
    Word and PDF files are read from a temporary copy named as the user's file."""
    name = Path(filename).name or "upload.txt"
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError.single(name, f"cannot read {suffix or 'unnamed'} files: use one "
                                f"of {', '.join(SUFFIXES)}")
    if suffix in (".docx", ".pdf"):
        with tempfile.TemporaryDirectory(prefix="chainatlas-intake-") as folder:
            (path := Path(folder) / name).write_bytes(data)
            return text_from_file(path)
    text = text_from_bytes(data, name)
    return text_from_html(text) if suffix in (".html", ".htm") else text


def plain(value: Any) -> Any:
    """A frame cell as plain Python: NaN and NaT as None, numpy scalars unwrapped."""
    if value is None or isinstance(value, (str, list, dict)):
        return value
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


# -- reading (worker threads) ---------------------------------------------------------------


def chain_names(db: Database, chain_ids: Iterable[str]) -> dict[str, Any]:
    """chain_id -> its Chinese name and its nodes' (node_id -> name)."""
    out: dict[str, Any] = {}
    for chain_id in sorted({str(c) for c in chain_ids if c}):
        try:
            chain = chain_from_text(db, chain_id)
        except NotFoundError:  # a direction mapped to a chain this store lacks
            continue
        out[chain_id] = {"name": chain.name_zh, "nodes": chain.names()}
    return out


def _with_names(db: Database, view: dict[str, Any], chains: Sequence[str]) -> dict[str, Any]:
    used = [i.get("chain_id") for i in view["items"] if i.get("chain_id")]
    draft = Draft(region=view["region"], year=view["year"], items=view["items"])
    return {**view, "counts": draft.counts(), "names": chain_names(db, [*chains, *used])}


def read_draft(db: Database, text: str, *, region: str | None, year: int | None,
               chains: Sequence[str] = ()) -> dict[str, Any]:
    """A pasted text read into an unsaved draft view."""
    if len(text) > MAX_TEXT_CHARS:
        raise ParameterError(f"文本过长（{len(text):,} 字）：每次最多解读 {MAX_TEXT_CHARS:,} 字")
    draft = draft_from_text(db, text, region=region, year=year)
    return _with_names(db, {"draft_id": None, "name": None, "region": draft.region,
                            "year": draft.year, "text": text, "items": draft.items}, chains)


def saved_view(db: Database, draft_id: int, chains: Sequence[str] = ()) -> dict[str, Any]:
    """A stored draft's view: its text and its items with their review state."""
    row = stored_draft(db, draft_id)
    items = [{str(k): plain(v) for k, v in r.items()}
             for r in draft_items(db, draft_id).to_dict("records")]
    adcode = row["region_adcode"]
    region = {"adcode": adcode, "name": region_names(db, [adcode]).get(adcode, adcode)} \
        if adcode else None
    return _with_names(db, {"draft_id": draft_id, "name": row["name"], "region": region,
                            "year": row["year"], "text": row["text"], "items": items,
                            "saved_by": row["created_by"],
                            "saved_at": text_of(row["created_at"])[:16]}, chains)


def saved_rows(db: Database) -> list[dict[str, Any]]:
    """The saved drafts as table rows, newest first."""
    frame = drafts_frame(db)
    names = region_names(db, [a for a in frame["region_adcode"] if isinstance(a, str)])
    return [{"draft_id": int(r["draft_id"]), "name": r["name"],
             "region": names.get(r["region_adcode"], plain(r["region_adcode"]) or "—"),
             "year": plain(r["year"]) or "—", "items": int(r["items"]),
             "proposed": int(r["proposed"]), "accepted": int(r["accepted"]),
             "rejected": int(r["rejected"]), "by": r["created_by"],
             "at": text_of(r["created_at"])[:16]} for r in frame.to_dict("records")]


SAVED_COLUMNS: list[dict[str, Any]] = [
    {"name": key, "label": label, "field": key, "wrap": key == "name"} for key, label in (
        ("draft_id", "编号"), ("name", "名称"), ("region", "地区"), ("year", "年份"),
        ("items", "条目"), ("proposed", "待审"), ("accepted", "已采纳"), ("rejected", "已驳回"),
        ("by", "保存人"), ("at", "保存时间 (UTC)"))]


# -- the page -------------------------------------------------------------------------------


class ItemCard:
    """One item: what it says, its sentence with the span marked, and its review state
    (the analyst's buttons while it is proposed, what the review made after)."""

    def __init__(self, page: IntakePage, item: dict[str, Any], view: Mapping[str, Any]) -> None:
        self.page, self.item, self.names = page, item, view["names"]
        key = item.get("item_id", item["start"])
        with ui.card().classes("w-full gap-1").style("padding:8px 12px") \
                .mark("intake-item", f"item-{key}"):
            with ui.row().classes("items-center gap-x-4 gap-y-1"):
                chip(*KINDS.get(item["kind"], (item["kind"], "#6B7280")))
                for label, value in item_fields(item, self.names):
                    ui.label(f"{label}：{value}").classes("ca-muted")
                if item["kind"] == "firm" and item.get("company_id"):
                    ui.link("企业画像", firm_url(str(item["company_id"]))).classes("ca-link") \
                        .mark("item-firm-link")
            sentence, start, end = item_sentence(view["text"], item, SENTENCE_WINDOW)
            # the one ui.html of the page: highlight_html escapes every character of it
            ui.html(highlight_html(sentence, start, end)).style("line-height:1.8") \
                .mark("item-sentence")
            self.state = ui.row().classes("items-center gap-2")
            self.editor = ui.column().classes("w-full gap-2")
        self.draw_state(view["draft_id"] is not None)

    def draw_state(self, saved: bool) -> None:
        """The review result, or the buttons while the item waits for review."""
        self.state.clear()
        with self.state:
            # an unsaved item has no review; a batch's own "status" is target/achieved
            if "item_id" in self.item and self.item.get("status") != "proposed":
                ui.label(result_zh(self.item, self.names)).classes("ca-strong") \
                    .mark("item-result")
                if str(self.item.get("result") or "").startswith("target:"):
                    ui.link("目标监测", "/targets").classes("ca-link")
            elif saved and self.page.writer is not None:
                key = self.item["item_id"]
                ui.button("采纳", on_click=lambda: self.page.review(self, "accept")) \
                    .props("unelevated dense color=primary").mark("item-accept", f"accept-{key}")
                if self.item["kind"] in EDIT_FIELDS:
                    ui.button("修改后采纳", on_click=self.open_editor) \
                        .props("outline dense").mark("item-edit", f"edit-{key}")
                ui.button("驳回", on_click=lambda: self.page.review(self, "reject")) \
                    .props("flat dense color=negative").mark("item-reject", f"reject-{key}")

    def open_editor(self) -> None:
        """The 修改后采纳 form, built on demand (a long text has hundreds of items)."""
        self.editor.clear()
        key = self.item["item_id"]
        inputs: dict[str, Any] = {}
        with self.editor, ui.row().classes("w-full items-end gap-3"):
            for name in EDIT_FIELDS[self.item["kind"]]:
                inputs[name] = self._field(name).mark(f"edit-{name}-{key}")
            ui.button("确认采纳", icon="check", on_click=lambda: self.confirm(inputs)) \
                .props("unelevated dense color=primary").mark(f"confirm-{key}")
        if "node_id" in inputs:  # a direction: the nodes offered are the chosen chain's
            inputs["chain_id"].on_value_change(lambda e: self._nodes_of(inputs["node_id"], e.value))

    def _field(self, name: str) -> ui.select | ui.input:
        label, value = EDIT_LABELS[name], edit_default(self.item, name)
        if name in ("indicator_key", "chain_id", "node_id"):
            options = self._options(name)
            chosen = value if value in options else ("" if "" in options else None)
            return ui.select(options, value=chosen, label=label, with_input=True) \
                .props("dense outlined").classes("w-44")
        shown = _number(value) if name in _NUMBERS and value is not None else value
        return ui.input(label, value=str(shown or "")).props("dense outlined").classes("w-44")

    def _options(self, name: str) -> dict[str, str]:
        if name == "indicator_key":
            return {k: i.label for k, i in INDICATORS.items()}
        if name == "chain_id":  # blank: the chain the sentence names, as review_item reads
            return {"": "（按原文）", **{k: v["name"] for k, v in self.names.items()}}
        return dict(self.names.get(self.item.get("chain_id") or "", {}).get("nodes", {}))

    def _nodes_of(self, node: ui.select, chain_id: Any) -> None:
        node.set_options(dict(self.names.get(str(chain_id or ""), {}).get("nodes", {})),
                         value=None)

    async def confirm(self, inputs: Mapping[str, Any]) -> None:
        """Accept the item with the form's edits."""
        try:
            edits = review_edits(self.item, {k: i.value for k, i in inputs.items()})
        except ParameterError as exc:
            ui.notify(str(exc), type="warning")
            return
        if not edits:
            ui.notify("没有修改：请直接采纳", type="warning")
            return
        await self.page.review(self, "edit", edits)


class IntakePage:
    """The text form, the draft it reads (with the analyst's review) and saved drafts."""

    def __init__(self, selection: Selection, writer: User | None) -> None:
        self.selection, self.writer = selection, writer
        self.view: dict[str, Any] | None = None
        with section("政策文本", "粘贴文本，或上传 .txt .docx .pdf .html 文件；解读出目标、"
                     "实绩、产业方向、地区园区、企业与项目批次"):
            self.text = ui.textarea("政策文本", placeholder="粘贴政策文件、政府工作报告或"
                                    "产业规划的全文").props("outlined rows=8") \
                .classes("w-full").mark("intake-text")
            ui.upload(label="上传文件", auto_upload=True, max_file_size=MAX_UPLOAD_BYTES,
                      on_upload=self.received, on_rejected=lambda: ui.notify(
                          f"只接受 {MAX_UPLOAD_BYTES // 2**20} MB 以内的文件", type="warning")) \
                .props('accept=".txt,.md,.docx,.pdf,.html,.htm" flat bordered') \
                .classes("w-96").mark("intake-upload")
            with ui.row().classes("w-full items-end gap-3"):
                self.region = ui.input("所在地区（名称或区划代码）", value=selection.region.name) \
                    .props("dense outlined clearable").classes("w-60").mark("intake-region")
                self.year = ui.number("年份（可选，默认取文中年份）", format="%d", min=1990,
                                      max=2100).props("dense outlined").classes("w-56") \
                    .mark("intake-year")
                self.name = ui.input("文件名称（保存时用，默认取首行）") \
                    .props("dense outlined").classes("w-72").mark("intake-name")
                ui.button("解读", icon="manage_search", on_click=self.read) \
                    .props("unelevated color=primary").mark("intake-run")
        self.area = ui.column().classes("w-full gap-4").mark("intake-draft")
        self.saved = ui.column().classes("w-full gap-4")

    async def received(self, event: events.UploadEventArguments) -> None:
        """Put an uploaded file's text in the text box (its name in the name box)."""
        data = await event.file.read()
        try:
            text = await run.io_bound(text_of_upload, data, event.file.name)
        except ChainAtlasError as exc:
            ui.notify(f"未能读取文件：{exc}", type="negative")
            return
        if text is None:  # the app is shutting down
            return
        self.text.value = text
        if not str(self.name.value or "").strip():
            self.name.value = Path(event.file.name).stem
        ui.notify(f"已读取 {event.file.name}（{len(text):,} 字）", type="positive")

    async def read(self) -> None:
        """Read the text box into an unsaved draft and draw it."""
        text = str(self.text.value or "")
        if not text.strip():
            ui.notify("请先粘贴或上传政策文本", type="warning")
            return
        year = int(self.year.value) if self.year.value else None
        try:
            view = await load(read_draft, text, region=str(self.region.value or "").strip()
                              or None, year=year, chains=tuple(self.selection.chains))
        except ChainAtlasError as exc:
            ui.notify(f"未能解读：{exc}", type="negative")
            return
        self.show(view)

    async def reopen(self, draft_id: int) -> None:
        """Read a saved draft and draw it (its text back in the text box)."""
        try:
            view = await load(saved_view, draft_id, tuple(self.selection.chains))
        except ChainAtlasError as exc:
            ui.notify(f"未能打开草稿：{exc}", type="negative")
            return
        self.text.value, self.name.value = view["text"], view["name"]
        self.region.value = (view["region"] or {}).get("name") or self.region.value
        self.show(view)

    def show(self, view: dict[str, Any]) -> None:
        """Draw a draft view in place of the last one."""
        self.view = view
        self.area.clear()
        with self.area:
            self._header(view)
            shown = view["items"][:MAX_ITEMS_SHOWN]
            for title, kinds, subtitle in GROUPS:
                items = [i for i in shown if i["kind"] in kinds]
                if not items:
                    continue
                with section(f"{title}（{len(items)}）", subtitle).mark(f"group-{kinds[0]}"):
                    for item in items:
                        ItemCard(self, item, view)
            if len(view["items"]) > MAX_ITEMS_SHOWN:
                empty_note(f"另有 {len(view['items']) - MAX_ITEMS_SHOWN} 条未列出：请分段解读")

    def _header(self, view: Mapping[str, Any]) -> None:
        saved = view["draft_id"] is not None
        title = f"草稿 #{view['draft_id']}：{view['name']}" if saved else "解读结果（未保存）"
        sub = " · ".join([(view["region"] or {}).get("name") or "未指定地区",
                          str(view["year"] or "年份未知")] + (
            [f"{view['saved_by']} 保存于 {view['saved_at']}"] if saved else []))
        with section(title, sub).mark("intake-summary"):
            if not view["items"]:
                empty_note("没有读出目标、方向、地区或企业")
            with ui.row().classes("items-center gap-2").mark("intake-counts"):
                for kind, (label, colour) in KINDS.items():
                    if view["counts"].get(kind):
                        chip(f"{label} {view['counts'][kind]}", colour)
            if self.writer is None:
                sign_in_note("intake-sign-in", "/intake", SIGN_IN_NOTE)
            elif view["draft_id"] is None and view["items"]:
                ui.button("保存草稿", icon="save", on_click=self.save) \
                    .props("unelevated color=primary").mark("intake-save")

    async def save(self) -> None:
        """Store the drawn draft (as read, offsets and all) and reopen it for review."""
        view = self.view
        if view is None or view["draft_id"] is not None:
            return
        name = str(self.name.value or "").strip() or default_name(view["text"])
        draft = Draft(region=view["region"], year=view["year"], items=view["items"])
        saved = await page_write(lambda db, actor: {"draft_id": save_draft(
            db, draft, view["text"], name, actor=actor)}, "未保存")
        if saved is None:
            return
        ui.notify(f"已保存草稿 #{saved['draft_id']}：可逐条采纳", type="positive")
        await self.reopen(int(saved["draft_id"]))
        await self.list_saved()

    async def review(self, card: ItemCard, action: str,
                     edits: Mapping[str, Any] | None = None) -> None:
        """Accept, edit and accept, or reject one item as the signed-in analyst."""
        if self.view is None or self.view["draft_id"] is None:
            return
        draft_id, item_id = int(self.view["draft_id"]), int(card.item["item_id"])
        state = await page_write(lambda db, actor: {**review_item(
            db, draft_id, item_id, action, edits=edits, actor=actor), "reviewed_by": actor},
            "未完成")
        if state is None:
            return
        card.item.update(state)
        card.editor.clear()
        card.draw_state(True)
        ui.notify(result_zh(state, card.names), type="positive")
        await self.list_saved()

    async def list_saved(self) -> None:
        """The saved drafts, each opening at /intake?draft=<id> (analysts only)."""
        if self.writer is None:
            return
        rows = await load(saved_rows)
        self.saved.clear()
        with self.saved, section("已保存的草稿", "点名称打开草稿，继续逐条审核（最新在前）"):
            if not rows:
                empty_note("还没有保存的草稿")
                return
            link_cells(data_table(SAVED_COLUMNS, rows, "draft_id", page=10,
                                  marker="intake-drafts"), "name",
                       "'/intake?draft=' + props.row.draft_id")


async def _body(selection: Selection) -> None:
    request = ui.context.client.request
    intake = IntakePage(selection, page_writer(request))
    opened = str(request.query_params.get("draft") or "")  # a saved draft's link
    if intake.writer is None:
        with intake.saved:
            sign_in_note("intake-sign-in", "/intake", SIGN_IN_NOTE)
    else:
        await intake.list_saved()
        if re.fullmatch(r"\d{1,9}", opened):
            await intake.reopen(int(opened))


def page() -> Frame:
    """The policy intake page's frame."""
    return Frame("/intake", "政策解读", _body,
                 lambda s: f"{s.region.name} · 粘贴或上传政策文本，逐条核对目标、方向与项目")
