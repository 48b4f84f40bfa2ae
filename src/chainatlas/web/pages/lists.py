"""招商清单 (/lists): saved lists of 精准招商 target firms, their notes, leads and export.

The page lists every saved list (newest first) and shows one (``?list=ID``, else the
newest): its firms with the node they fit, their score and the recommender's reasons as
they stood when the firm was added, the analyst's note and, once the firm was turned into
a 线索 project, a link to that project. An analyst creates a list for the page's region
and chain, selects firms to note, turn into leads or take off, and deletes a list; every
write runs as the signed-in user (:func:`chainatlas.web.pages.writing.page_write`)
and lands in the audit log. Firms are added from the 精准招商 page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from nicegui import ui

from chainatlas.errors import ParameterError
from chainatlas.projects import lists
from chainatlas.projects.stages import STAGE_LABELS
from chainatlas.recommend.filters import TargetFilters
from chainatlas.store import Database
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.projects import project_url, text_of
from chainatlas.web.pages.widgets import (
    data_table,
    empty_note,
    link_cells,
    link_table,
    load,
    section,
)
from chainatlas.web.pages.writing import page_write, page_writer, sign_in_note

LIST_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "清单", "field": "name", "align": "left", "wrap": True},
    {"name": "region", "label": "地区", "field": "region"},
    {"name": "chain", "label": "产业链", "field": "chain"},
    {"name": "firms", "label": "企业", "field": "firms"},
    {"name": "leads", "label": "已转线索", "field": "leads"},
    {"name": "owner", "label": "创建人", "field": "owner"},
    {"name": "created", "label": "创建时间", "field": "created"}]
ITEM_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "企业", "field": "name", "align": "left"},
    {"name": "node", "label": "环节", "field": "node"},
    {"name": "score", "label": "推荐得分", "field": "score"},
    {"name": "reasons", "label": "推荐理由", "field": "reasons", "wrap": True,
     "style": "white-space:normal;min-width:380px"},
    {"name": "note", "label": "备注", "field": "note", "wrap": True},
    {"name": "lead", "label": "线索项目", "field": "lead"},
    {"name": "added", "label": "加入", "field": "added"}]


def list_url(list_id: int) -> str:
    """The page of one list."""
    return f"/lists?list={int(list_id)}"


def export_url(list_id: int) -> str:
    """The REST API's Excel workbook of one list."""
    return f"/api/v1/lists/{int(list_id)}/export.xlsx"


def list_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The lists as rows of the list table."""
    return [{"list_id": int(r["list_id"]), "name": text_of(r["name"]),
             "region": text_of(r.get("region_name")) or text_of(r["region_adcode"]),
             "chain": text_of(r.get("chain_name")) or text_of(r["chain_id"]),
             "firms": int(r["firms"]), "leads": int(r["leads"]), "owner": text_of(r["owner"]),
             "created": text_of(r["created_at"])[:16]} for r in records]


def lead_text(record: Mapping[str, Any]) -> str:
    """项目 #12 · 线索, or — before the firm became a lead."""
    pid = record.get("project_id")
    if pid is None or pd.isna(pid):
        return "—"
    stage = STAGE_LABELS.get(text_of(record.get("project_stage")), "")
    return f"#{int(pid)}" + (f" · {stage}" if stage else "")


def item_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A list's firms as rows of the item table (``href`` opens the lead's project)."""
    rows = []
    for r in records:
        pid = r.get("project_id")
        lead = None if pid is None or pd.isna(pid) else int(pid)
        rows.append({
            "company_id": str(r["company_id"]),
            "name": text_of(r["short_name"]) or text_of(r["full_name"]) or str(r["company_id"]),
            "node": text_of(r.get("node_name")) or "—",
            "score": f"{float(r['score']):.3f}" if text_of(r.get("score")) else "—",
            "reasons": text_of(r.get("reasons_zh")) or "—", "note": text_of(r.get("note")),
            "lead": lead_text(r), "href": project_url(lead) if lead is not None else "",
            "added": text_of(r.get("added_at"))[:10]})
    return rows


def lists_view(db: Database, wanted: int | None) -> dict[str, Any]:
    """Every list, the one shown (``wanted`` if it exists, else the newest) and its
    firms."""
    every = lists.lists_frame(db).to_dict(orient="records")
    ids = [int(r["list_id"]) for r in every]
    shown = wanted if wanted in ids else (ids[0] if ids else None)
    if shown is None:
        return {"lists": every, "list": None, "items": []}
    return {"lists": every, "list": lists.get_list(db, shown),
            "items": lists.list_items_frame(db, shown).to_dict(orient="records")}


def wanted_list(params: Mapping[str, str]) -> int | None:
    """The list id of the page's ``?list=`` parameter (None when absent or not a number)."""
    text = str(params.get("list") or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def ticked(table: ui.table | None) -> list[str]:
    """The ids of the firms ticked in ``table``; a notice when none is."""
    firms = [str(r["company_id"]) for r in (table.selected if table is not None else [])]
    if not firms:
        ui.notify("请先勾选企业", type="warning")
    return firms


class ListsView:
    """The list table, the chosen list's firms and the analyst's controls; redrawn after
    every write."""

    def __init__(self, selection: Selection, wanted: int | None) -> None:
        self.selection = selection
        self.wanted = wanted
        self.area = ui.column().classes("w-full gap-4")
        self.items: ui.table | None = None

    async def refresh(self) -> None:
        """Read the lists again and redraw them."""
        view = await load(lists_view, self.wanted)
        self.wanted = int(view["list"]["list_id"]) if view["list"] else None
        self.area.clear()
        with self.area:
            self._draw(view)

    def _draw(self, view: Mapping[str, Any]) -> None:
        writer = page_writer(ui.context.client.request)
        with section("招商清单", "精准招商页面选中的目标企业保存于此；点击清单名称查看"):
            if writer is not None:
                self._create_form()
            if not view["lists"]:
                empty_note("还没有招商清单：在精准招商页面勾选目标企业后加入清单")
                return
            link_cells(data_table(LIST_COLUMNS, list_rows(view["lists"]), "list_id",
                                  page=10, marker="lists-table"), "name",
                       "'/lists?list=' + props.row.list_id")
        if view["list"] is not None:
            self._list(view["list"], view["items"], writer is not None)

    def _create_form(self) -> None:
        with ui.row().classes("w-full items-end gap-3").mark("list-create"):
            name = ui.input("新清单名称").props("dense outlined").classes("w-64") \
                .mark("list-name")
            note = ui.input("备注（可选）").props("dense outlined").classes("w-80") \
                .mark("list-note")
            ui.label(f"{self.selection.region.name} · {self.selection.chain_name}") \
                .classes("ca-muted")
            ui.button("新建清单", icon="add", on_click=lambda: self.create(
                name.value, note.value)).props("unelevated color=primary") \
                .mark("list-create-submit")

    def _list(self, row: Mapping[str, Any], items: Sequence[Mapping[str, Any]],
              writer: bool) -> None:
        hint = f"备注：{row['note']}" if row.get("note") else "推荐理由为加入清单时的推荐结果"
        with section(f"清单：{row['name']}", hint).mark("list-detail"):
            with ui.row().classes("w-full items-center gap-3"):
                ui.label(f"共 {len(items)} 家企业").classes("ca-strong")
                ui.space()
                export = ui.button("导出 Excel", icon="download").props("outline") \
                    .mark("list-export")
                # a plain link: the browser downloads the workbook the REST API builds
                export.props["href"] = export_url(int(row["list_id"]))
                export.props["target"] = "_blank"
            if not items:
                empty_note("清单中还没有企业")
            else:
                self.items = self._item_table(items, writer)
            if writer:
                self._item_controls(int(row["list_id"]))
            else:
                sign_in_note("lists-sign-in", list_url(int(row["list_id"])))

    @staticmethod
    def _item_table(items: Sequence[Mapping[str, Any]], writer: bool) -> ui.table:
        table = link_cells(link_table(ITEM_COLUMNS, item_rows(items), page=20,
                                      marker="list-items"), "lead")
        if writer:
            table.set_selection("multiple")
        return table

    def _item_controls(self, list_id: int) -> None:
        with ui.row().classes("w-full items-end gap-3").mark("list-controls"):
            ui.label("对勾选的企业：").classes("ca-muted")
            ui.button("转为线索", icon="flag", on_click=lambda: self.leads(list_id)) \
                .props("unelevated color=primary").mark("list-lead")
            note = ui.input("备注").props("dense outlined").classes("w-72") \
                .mark("item-note")
            ui.button("保存备注", on_click=lambda: self.note(list_id, note.value)) \
                .props("outline").mark("item-note-submit")
            ui.button("移出清单", on_click=lambda: self.remove(list_id)) \
                .props("outline color=negative").mark("item-remove")
            ui.space()
            ui.button("删除清单", icon="delete", on_click=lambda: self.confirm_delete(list_id)) \
                .props("flat color=negative").mark("list-delete")

    async def _write(self, action: Callable[[Database, str], dict[str, Any]],
                     done: str) -> bool:
        if await page_write(action) is None:
            return False
        ui.notify(done, type="positive")
        await self.refresh()
        return True

    async def create(self, name: Any, note: Any) -> None:
        """A new list for the page's region and chain, then shown."""
        title = str(name or "").strip()
        if not title:
            ui.notify("请填写清单名称", type="warning")
            return
        made: dict[str, Any] = {}

        def action(db: Database, actor: str) -> dict[str, Any]:
            made.update(lists.create_list(db, title, region=self.selection.region.adcode,
                                          chain=self.selection.chain_id,
                                          note=str(note or "") or None, actor=actor))
            return made
        self.wanted = None
        if await self._write(action, f"已新建清单「{title}」") and made:
            self.wanted = int(made["list_id"])
            await self.refresh()

    async def leads(self, list_id: int) -> None:
        """Turn each ticked firm into a 线索 project (a firm that is one already keeps
        its project)."""
        firms = ticked(self.items)
        if not firms:
            return

        def action(db: Database, actor: str) -> dict[str, Any]:
            made = [lists.lead_from_item(db, list_id, cid, actor=actor) for cid in firms]
            return {"projects": [int(p["project_id"]) for p in made]}
        await self._write(action, f"已转为线索：{len(firms)} 家企业")

    async def note(self, list_id: int, text: Any) -> None:
        """Set the ticked firms' note (empty clears it)."""
        firms = ticked(self.items)
        if not firms:
            return

        def action(db: Database, actor: str) -> dict[str, Any]:
            for cid in firms:
                lists.set_item_note(db, list_id, cid, str(text or "") or None, actor=actor)
            return {}
        await self._write(action, "备注已保存")

    async def remove(self, list_id: int) -> None:
        """Take the ticked firms off the list (their projects stay in the ledger)."""
        firms = ticked(self.items)
        if not firms:
            return

        def action(db: Database, actor: str) -> dict[str, Any]:
            for cid in firms:
                lists.remove_from_list(db, list_id, cid, actor=actor)
            return {}
        await self._write(action, f"已移出 {len(firms)} 家企业")

    def confirm_delete(self, list_id: int) -> None:
        """Ask before deleting a list."""
        with ui.dialog() as dialog, ui.card().mark("list-delete-dialog"):
            ui.label("删除该清单？清单中企业转成的线索项目仍保留在项目库。")
            with ui.row():
                ui.button("删除", on_click=lambda: self.delete(list_id, dialog)) \
                    .props("unelevated color=negative").mark("list-delete-confirm")
                ui.button("取消", on_click=dialog.close).props("flat")
        dialog.open()

    async def delete(self, list_id: int, dialog: ui.dialog) -> None:
        """Delete the list and show the newest other one."""
        dialog.close()

        def action(db: Database, actor: str) -> dict[str, Any]:
            lists.delete_list(db, list_id, actor=actor)
            return {}
        self.wanted = None
        await self._write(action, "清单已删除")



def region_lists(db: Database, region: str, chain: str) -> dict[int, str]:
    """The lists of one region and chain (id -> name), newest first."""
    frame = lists.lists_frame(db)
    mine = frame[(frame["region_adcode"] == region) & (frame["chain_id"] == chain)]
    return {int(r["list_id"]): str(r["name"]) for r in mine.to_dict(orient="records")}


class LeadActions:
    """The 精准招商 page's 加入招商清单 and 转为线索 for the firms ticked in its target
    table; the firms are ranked again in the library under the page's universe and
    filters, so what is kept is what the recommender says, not what the browser sent."""

    def __init__(self, selection: Selection, chosen: Callable[[], list[str]],
                 filters: Callable[[], TargetFilters]) -> None:
        self.selection = selection
        self.chosen = chosen
        self.filters = filters
        self.picker: ui.select | None = None
        self.new_name: ui.input | None = None
        self.result: ui.row | None = None

    async def build(self) -> None:
        """The controls (an analyst's only; others see how to sign in)."""
        if page_writer(ui.context.client.request) is None:
            sign_in_note("rec-sign-in", "/recommend",
                         "登录分析员账号后可将勾选的企业加入招商清单或转为线索")
            return
        options = await load(region_lists, self.selection.region.adcode,
                             self.selection.chain_id)
        with ui.row().classes("w-full items-end gap-3").mark("rec-actions"):
            ui.label("对勾选的企业：").classes("ca-muted")
            self.picker = ui.select(options, value=next(iter(options), None),
                                    label="加入已有清单").props("dense outlined clearable") \
                .classes("w-56").mark("rec-list-picker")
            self.new_name = ui.input("或新建清单").props("dense outlined").classes("w-48") \
                .mark("rec-list-name")
            ui.button("加入招商清单", icon="playlist_add", on_click=self.add) \
                .props("unelevated color=primary").mark("rec-add-to-list")
            ui.button("转为线索", icon="flag", on_click=self.lead).props("outline") \
                .mark("rec-lead")
        self.result = ui.row().classes("items-center gap-2").mark("rec-result")

    def _target(self, db: Database, actor: str) -> int:
        """The chosen list, or the new one named (made now)."""
        name = str(self.new_name.value or "").strip() if self.new_name else ""
        if name:
            return int(lists.create_list(db, name, region=self.selection.region.adcode,
                                         chain=self.selection.chain_id,
                                         actor=actor)["list_id"])
        if self.picker is None or self.picker.value is None:
            raise ParameterError("请选择一个清单，或填写新清单名称")
        return int(self.picker.value)

    async def add(self) -> None:
        """Add the ticked firms to the chosen (or new) list."""
        firms = self.chosen()
        if not firms:
            return
        done: dict[str, Any] = {}

        def action(db: Database, actor: str) -> dict[str, Any]:
            list_id = self._target(db, actor)
            done.update(lists.add_to_list(db, list_id, firms, actor=actor,
                                          universe=self.selection.universe,
                                          filters=self.filters()), list_id=list_id)
            return done
        if await page_write(action) is not None:
            extra = f"，{len(done['already'])} 家已在清单中" if done["already"] else ""
            self._say(f"已加入 {len(done['added'])} 家企业{extra}",
                      ("查看清单", list_url(int(done["list_id"]))))

    async def lead(self) -> None:
        """Turn each ticked firm into a 线索 project (an open lead is kept, not doubled)."""
        firms = self.chosen()
        if not firms:
            return
        made: list[int] = []

        def action(db: Database, actor: str) -> dict[str, Any]:
            made.extend(int(p["project_id"]) for p in lists.leads_from_recommendation(
                db, firms, region=self.selection.region.adcode,
                chain=self.selection.chain_id, actor=actor,
                universe=self.selection.universe, filters=self.filters()))
            return {"projects": made}
        if await page_write(action) is not None:
            self._say("已转为线索项目：", *((f"#{p}", project_url(p)) for p in made))

    def _say(self, text: str, *links: tuple[str, str]) -> None:
        """The outcome of the last action, with links to what it made."""
        ui.notify(text, type="positive")
        if self.result is None:
            return
        self.result.clear()
        with self.result:
            ui.label(text).classes("ca-reason")
            for label, url in links:
                ui.link(label, url).classes("ca-link")

async def _body(selection: Selection) -> None:
    view = ListsView(selection, wanted_list(dict(ui.context.client.request.query_params)))
    await view.refresh()


def page() -> Frame:
    """The lists page's frame."""
    return Frame("/lists", "招商清单", _body,
                 lambda s: "保存的目标企业 · 备注 · 转为线索 · 导出 Excel")
