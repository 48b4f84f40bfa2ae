"""``chainatlas intake FILE``: read a plan or a report into a draft for review.

Prints the draft's targets and results (value, unit, period, qualifier, body), the
industry directions mapped to chain nodes (and those left unmapped), the places and the
firms named, each with where in the text it stands; ``--json`` prints every item with
its character offsets and sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chainatlas.cli_common import DbOption, JsonOption, console, open_store, print_json


def _value(item: dict[str, Any]) -> str:
    value = item["value"]
    shown = f"{value[0]:g}–{value[1]:g}" if isinstance(value, list) else f"{value:g}"
    return f"{shown} {item['unit']}"


def _figures_table(items: list[dict[str, Any]]) -> Table:
    table = Table("位置", "类型", "指标", "数值", "限定", "时期", "主体", title="目标与成效")
    for item in items:
        if item["kind"] not in ("target", "achieved"):
            continue
        table.add_row(str(item["start"]), "目标" if item["kind"] == "target" else "成效",
                      escape(item["indicator"]), _value(item), item["qualifier"] or "",
                      item["period"] or "", escape(item["body"] or ""))
    return table


def _named_table(items: list[dict[str, Any]]) -> Table:
    table = Table("位置", "类别", "原文", "对应", title="方向、地区与企业")
    for item in items:
        kind = item["kind"]
        if kind == "direction":
            target = f"{item['chain_id']}/{item['node_id'] or '整条链'}" if item["chain_id"] \
                else "（未映射）"
            table.add_row(str(item["start"]), "方向", escape(item["text"]), target)
        elif kind == "place":
            table.add_row(str(item["start"]), "地区" if item["place_kind"] == "region" else
                          "园区", escape(item["text"]),
                          item["adcode"] or "（未解析）")
        elif kind == "firm":
            table.add_row(str(item["start"]), "企业", escape(item["text"]),
                          item["company_id"] or "（库外）")
    return table


def intake_command(
        file: Annotated[Path, typer.Argument(help="A .txt, .docx, .pdf or .html file.")],
        region: Annotated[str | None, typer.Option(
            "--region", help="The region the text is of (resolves 高新区, shared district "
            "names).")] = None,
        year: Annotated[int | None, typer.Option(
            "--year", help="The year the text speaks of (its 今年); default the year it "
            "names first.")] = None,
        save: Annotated[str | None, typer.Option(
            "--save", help="Store the draft under this name for review (its items are then "
            "accepted or rejected one by one).")] = None,
        db: DbOption = None, as_json: JsonOption = False) -> None:
    """Read a plan or a report into a draft: targets, results, directions, places, firms."""
    from chainatlas.intake.draft import draft_from_text
    from chainatlas.intake.review import save_draft
    from chainatlas.intake.text import text_from_file
    from chainatlas.store.audit import cli_actor

    text = text_from_file(file)
    with open_store(db, read_only=save is None) as store:
        draft = draft_from_text(store, text, region=region, year=year)
        draft_id = save_draft(store, draft, text, save, actor=cli_actor()) if save else None
    if as_json:
        print_json({**draft.as_dict(), "draft_id": draft_id})
        return
    console.print(_figures_table(draft.items))
    console.print(_named_table(draft.items))
    counts = "，".join(f"{k} {v}" for k, v in sorted(draft.counts().items()))
    console.print(f"{file.name}: {counts}（年份 {draft.year or '未知'}）", highlight=False)
    if draft_id is not None:
        console.print(f"Saved as draft {draft_id} ({escape(save or '')}) for review.",
                      highlight=False)
