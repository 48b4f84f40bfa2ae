"""The 项目库 page's upload of a bureau's project sheet (导入招商项目表, analysts only).

The page twin of ``POST /api/v1/imports/projects`` and ``chainatlas projects import``:
the same importer (:func:`chainatlas.web.api.imports.projects_importer`, the library's
:func:`chainatlas.projects.excel.import_projects`), the same temporary file named after
the user's own (:func:`chainatlas.web.api.imports.run_stored`), strict unless 宽松模式
is on. The write runs as the page's signed-in user
(:func:`chainatlas.web.pages.writing.write_as_page_user`), so the analyst's region/park
scope applies row by row as in the CLI. The report lists the imported count and every
bad row (Excel row, header, reason); a strict sheet with a bad row imports nothing and
lists them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from nicegui import events, run, ui
from starlette.requests import Request

from chainatlas.errors import ChainAtlasError, InputError
from chainatlas.web.api.imports import MAX_UPLOAD_BYTES, projects_importer, run_stored
from chainatlas.web.pages.widgets import data_table, section
from chainatlas.web.pages.writing import write_as_page_user

PROBLEM_COLUMNS: list[dict[str, Any]] = [
    {"name": "row", "label": "Excel 行号", "field": "row"},
    {"name": "field", "label": "列（表头）", "field": "field"},
    {"name": "reason", "label": "问题", "field": "reason", "wrap": True}]


def import_sheet(request: Request, content: bytes, filename: str, *,
                 region: str | None, lenient: bool) -> dict[str, Any]:
    """Import an uploaded sheet as the request's user (in a worker thread); the report
    names the user's file, and so does an InputError."""
    importer = projects_importer(region=region, lenient=lenient)
    return run_stored(content, filename, lambda path: write_as_page_user(
        request, lambda db, actor: importer(db, path, actor)))


def report_headline(report: Mapping[str, Any]) -> str:
    """One line saying what an import did, as the CLI's summary line does."""
    return (f"{report['file']}（工作表 {report['sheet']}）：共 {report['rows']} 行，"
            f"已导入 {report['imported']} 个项目（暂停 {report['paused']}、终止 "
            f"{report['ended']}），{report['rejected']} 行有问题未导入，跳过合计行 "
            f"{report['totals_skipped']} 行、分节及说明行 {report['sections_skipped']} 行")


def problem_rows(problems: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The problems as table rows (a row may have several: each gets its own key)."""
    return [{"key": i, "row": "—" if p.get("row") is None else int(p["row"]),
             "field": p.get("field") or "—", "reason": str(p.get("reason") or "")}
            for i, p in enumerate(problems)]


class SheetUpload:
    """The upload card, drawn where it is made: region, 宽松模式, the file picker and the
    last import's report."""

    def __init__(self, region: str, on_done: Callable[[], Awaitable[None]]) -> None:
        self.on_done = on_done
        with ui.expansion("导入招商项目表（Excel）", icon="upload_file") \
                .classes("w-full ca-card").mark("project-upload"):
            ui.label("未填所在地的行记在所填地区，县区名称在该地区内查找；默认严格模式："
                     "任何一行有问题则整表不导入，并列出所有问题").classes("ca-muted")
            with ui.row().classes("w-full items-center gap-4"):
                self.region = ui.input("本单位所在地区（名称或区划代码）", value=region) \
                    .props("dense outlined clearable").classes("w-72").mark("upload-region")
                self.lenient = ui.switch("宽松模式：导入正确的行，列出有问题的行") \
                    .mark("upload-lenient")
            self.upload = ui.upload(
                label="选择 .xlsx 文件", auto_upload=True, max_file_size=MAX_UPLOAD_BYTES,
                on_upload=self.received, on_rejected=lambda: ui.notify(
                    f"只接受 {MAX_UPLOAD_BYTES // 2**20} MB 以内的 .xlsx 文件", type="warning")) \
                .props('accept=".xlsx" flat bordered').classes("w-96").mark("upload-file")
            self.report = ui.column().classes("w-full gap-2").mark("upload-report")

    async def received(self, event: events.UploadEventArguments) -> None:
        """Import the uploaded sheet, show its report and redraw the ledger."""
        content = await event.file.read()
        try:
            report = await run.io_bound(
                import_sheet, event.client.request, content, event.file.name,
                region=str(self.region.value or "").strip() or None,
                lenient=bool(self.lenient.value))
        except InputError as exc:
            self.show("未导入：表格有问题，整表未导入（可改正后重传，或打开宽松模式）",
                      [vars(p) for p in exc.problems])
            ui.notify("未导入：表格有问题", type="negative")
            return
        except ChainAtlasError as exc:  # no right, unknown region, store busy …
            ui.notify(f"未导入：{exc}", type="negative")
            return
        finally:
            self.upload.reset()  # the same file may be picked again after a fix
        if report is None:  # the app is shutting down
            return
        self.show(report_headline(report), report["problems"], report["notes"])
        ui.notify(f"已导入 {report['imported']} 个项目", type="positive")
        await self.on_done()

    def show(self, headline: str, problems: Sequence[Mapping[str, Any]],
             notes: Sequence[str] = ()) -> None:
        """Replace the report with this headline, problems table and notes."""
        self.report.clear()
        with self.report:
            ui.label(headline).classes("ca-strong").mark("upload-headline")
            for note in notes:
                ui.label(note).classes("ca-muted")
            if problems:
                with section("有问题的行", f"{len(problems)} 个问题"):
                    data_table(PROBLEM_COLUMNS, problem_rows(problems), "key", page=20,
                               marker="upload-problems")
