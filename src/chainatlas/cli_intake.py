"""``chainatlas intake FILE``: read a plan or a report into a draft for review;
``chainatlas drafts``: review the saved drafts item by item.

``intake`` prints the draft's targets and results (value, unit, period, qualifier, body),
the industry directions mapped to chain nodes (and those left unmapped), the places and
the firms named, each with where in the text it stands; ``--json`` prints every item with
its character offsets and sentence. ``--save NAME`` stores the draft.

``drafts list`` and ``drafts show`` read the saved drafts; ``drafts accept``, ``edit``
and ``reject`` review one item (:func:`chainatlas.intake.review.review_item`): an
accepted target becomes a ledger target, an accepted direction a priority node. Each
write is one transaction with its audit line, by the actor ``cli:<os user>`` (the
command line is the store's owner, as for ``projects``); a running server hands the
store over (:func:`chainatlas.cli_common.open_store`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chainatlas.cli_common import DbOption, JsonOption, console, open_store, print_json

if TYPE_CHECKING:  # the store pulls in duckdb and pandas: not for --help
    from chainatlas.store import Database

drafts_app = typer.Typer(help="Saved intake drafts (chainatlas intake --save): list, show, "
                              "and accept, edit or reject their items.",
                         no_args_is_help=True)


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


# -- chainatlas drafts ----------------------------------------------------------------------

DraftId = Annotated[int, typer.Argument(help="Draft number (drafts list).")]
ItemId = Annotated[int, typer.Argument(help="Item number (drafts show).")]
STATUS_ZH = {"proposed": "待审", "accepted": "已采纳", "edited": "修改后采纳", "rejected": "已驳回"}
KIND_ZH = {"target": "目标", "achieved": "实绩", "direction": "方向", "place": "地区/园区",
           "firm": "企业", "project_batch": "项目批次"}
#: The sections of ``drafts show`` (as on the 政策解读 page): title, the kinds they hold.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("目标与实绩", ("target", "achieved")), ("产业方向", ("direction",)),
    ("地区与园区", ("place",)), ("企业", ("firm",)), ("项目批次", ("project_batch",)))
#: The fields ``drafts edit`` changes per kind (the page's 修改后采纳 fields), and options.
EDIT_FIELDS = {"target": ("name", "indicator_key", "value", "period", "chain_id", "base_value"),
               "direction": ("chain_id", "node_id")}
EDIT_OPTIONS = {"name": "--name", "indicator_key": "--indicator", "value": "--value",
                "period": "--period", "chain_id": "--chain", "base_value": "--base-value",
                "node_id": "--node"}
#: How much of an item's sentence ``drafts show`` prints around its span.
EXCERPT_CHARS = 60
EditsOf = Callable[["Database", dict[str, Any]], dict[str, Any]]


def _plain(value: Any) -> Any:
    """A stored value as plain JSON: datetimes in ISO form, NaN as None, numpy scalars
    unwrapped."""
    import pandas as pd

    if value is None or isinstance(value, (str, list, dict)):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _listed(row: Mapping[Any, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """A ``drafts_frame`` row as plain JSON, with its region's name."""
    out = {str(k): _plain(v) for k, v in row.items()}
    adcode = out["region_adcode"]
    return {**out, "region": names.get(adcode, adcode) if adcode else None,
            "year": None if out["year"] is None else int(out["year"])}


@drafts_app.command("list")
def drafts_list(limit: Annotated[int, typer.Option(
                    "--limit", min=1, help="At most this many, newest first.")] = 200,
                db: DbOption = None, as_json: JsonOption = False) -> None:
    """The saved drafts, newest first: who saved them when, their items by review status."""
    from chainatlas.intake.review import drafts_frame
    from chainatlas.store.lookup import region_names

    with open_store(db, read_only=True) as store:
        frame = drafts_frame(store, limit)
        names = region_names(store, [a for a in frame["region_adcode"] if isinstance(a, str)])
    rows = [_listed(r, names) for r in frame.to_dict(orient="records")]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No saved drafts: save one with 'chainatlas intake FILE --save NAME'.",
                      highlight=False)
        return
    table = Table("编号", "名称", "地区", "年份", "保存人", "保存时间 (UTC)", "条目", "待审",
                  "已采纳", "已驳回", title=f"已保存的草稿（{len(rows)} 份）")
    for r in rows:
        table.add_row(str(r["draft_id"]), escape(r["name"]), escape(r["region"] or "—"),
                      str(r["year"] or "—"), escape(r["created_by"]),
                      str(r["created_at"])[:16].replace("T", " "), str(r["items"]),
                      str(r["proposed"]), str(r["accepted"]), str(r["rejected"]))
    console.print(table)


def _marked(text: str, item: Mapping[str, Any]) -> str:
    """The excerpt as rich markup, the span in reverse video (the text escaped)."""
    from chainatlas.intake.draft import item_sentence

    sentence, start, end = item_sentence(text, item, EXCERPT_CHARS)
    return (escape(sentence[:start]) + "[reverse]" + escape(sentence[start:end]) + "[/]"
            + escape(sentence[end:]))


def _content(item: Mapping[str, Any]) -> str:
    """What an item says, in one line."""
    kind = item["kind"]
    if kind in ("target", "achieved"):
        return " ".join(str(p) for p in (item["indicator"], _value(dict(item)),
                                         item.get("qualifier")) if p)
    if kind == "project_batch":
        amount = item.get("amount_yi")
        return f"{item['projects']:g} 个项目" + (f"，总投资 {amount:g} 亿元" if amount is not None
                                              else "") + ("（实绩）" if item.get(
                                                  "figure_kind") == "achieved" else "")
    if kind == "direction":
        mapped = f"{item['chain_id']}/{item.get('node_id') or '整条链'}" \
            if item.get("chain_id") else "（未映射）"
    elif kind == "place":
        mapped = str(item.get("park") or item.get("adcode") or "（未解析）")
    else:
        mapped = str(item.get("company_id") or "（库外）")
    return f"{item.get('text') or ''} → {mapped}"


def _made_zh(item: Mapping[str, Any]) -> str:
    """What a review made, for the table: 目标 #3, 重点环节 c/n, 仅作记录 (and by whom)."""
    if item["status"] == "proposed":
        return ""
    kind, _, ref = str(item.get("result") or "").partition(":")
    made = {"target": f"目标 #{ref}", "priority": f"重点环节 {ref}"}.get(
        kind, "" if item["status"] == "rejected" else "仅作记录")
    return " · ".join(p for p in (made, str(item.get("reviewed_by") or "")) if p)


def _items_table(title: str, items: list[dict[str, Any]], text: str) -> Table:
    table = Table("编号", "类别", "状态", "内容", "时期", "原文", "结果",
                  title=f"{title}（{len(items)}）")
    for item in items:
        table.add_row(str(item["item_id"]), KIND_ZH.get(item["kind"], item["kind"]),
                      STATUS_ZH.get(item["status"], item["status"]), escape(_content(item)),
                      escape(str(item.get("period") or "")), _marked(text, item),
                      escape(_made_zh(item)))
    return table


def _draft_view(db: Database, draft_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A stored draft (its region named, its text kept) and its items, each with its
    sentence excerpt and its edits decoded."""
    from chainatlas.intake.draft import item_sentence
    from chainatlas.intake.review import item_rows, stored_draft
    from chainatlas.store.lookup import region_names

    row = stored_draft(db, draft_id)
    adcode = row["region_adcode"]
    draft = {**{k: _plain(v) for k, v in row.items()}, "chars": len(row["text"]),
             "region": region_names(db, [adcode]).get(adcode, adcode) if adcode else None}
    items = [{**i, "edited": json.loads(i["edited"]) if i["edited"] else None,
              "excerpt": item_sentence(row["text"], i, EXCERPT_CHARS)[0]}
             for i in item_rows(db, draft_id)]
    return draft, items


@drafts_app.command("show")
def drafts_show(draft_id: DraftId, db: DbOption = None, as_json: JsonOption = False) -> None:
    """A draft's items grouped by kind, with their review status.

    Each item shows its value, its period, the sentence it stands in (its span marked)
    and what its review made.
    """
    with open_store(db, read_only=True) as store:
        draft, items = _draft_view(store, draft_id)
    if as_json:
        print_json({"draft": draft, "items": items})
        return
    console.print(f"Draft {draft_id}: {escape(draft['name'])} · {escape(draft['region'] or '—')}"
                  f" · {draft['year'] or '—'} · saved by {escape(draft['created_by'])} at "
                  f"{str(draft['created_at']).replace('T', ' ')}", highlight=False)
    for title, kinds in GROUPS:
        chosen = [i for i in items if i["kind"] in kinds]
        if chosen:
            console.print(_items_table(title, chosen, draft["text"]))
    counts = {s: sum(i["status"] == s for i in items) for s in STATUS_ZH}
    console.print("，".join(f"{STATUS_ZH[s]} {n}" for s, n in counts.items()), highlight=False)


def _options(fields: Any) -> str:
    return ", ".join(EDIT_OPTIONS[f] for f in fields)


def _direction_edits(db: Database, item: Mapping[str, Any],
                     edits: Mapping[str, Any]) -> dict[str, Any]:
    """A direction's chain and node, together (a new chain keeps no old node, as on the
    page), the node named by id or Chinese name within its chain."""
    from chainatlas.errors import ParameterError
    from chainatlas.store.lookup import chain_from_text

    chain_id = edits.get("chain_id") or item.get("chain_id")
    node = edits.get("node_id") or (
        item.get("node_id") if chain_id == item.get("chain_id") else None)
    if not chain_id or not node:
        raise ParameterError("An accepted direction becomes a priority node: give --node "
                             "(with --chain when the direction maps to no chain or another).")
    return {"chain_id": chain_id,
            "node_id": chain_from_text(db, str(chain_id)).node(str(node)).node_id}


def _edits(db: Database, item: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The edits ``drafts edit`` gives an item: the fields its kind offers (the page's
    修改后采纳 ones), blanks left out, indicator and chain names resolved to their ids."""
    from chainatlas.errors import ParameterError
    from chainatlas.projects.targets import indicator_of
    from chainatlas.store.lookup import chain_from_text

    edits = {k: v.strip() if isinstance(v, str) else v for k, v in given.items()}
    edits = {k: v for k, v in edits.items() if v is not None and v != ""}
    kind, offered = item["kind"], EDIT_FIELDS.get(item["kind"], ())
    if not offered:
        raise ParameterError(f"Item {item['item_id']} is a {kind}: only targets and "
                             "directions are edited; accept or reject it.")
    if not edits:
        raise ParameterError(f"Nothing to change: give {_options(offered)}, or accept the "
                             "item as it is.")
    if wrong := [k for k in edits if k not in offered]:
        raise ParameterError(f"A {kind} has no {_options(wrong)}: give {_options(offered)}.")
    if "indicator_key" in edits:
        edits["indicator_key"] = indicator_of(str(edits["indicator_key"])).key
    if "chain_id" in edits:
        edits["chain_id"] = chain_from_text(db, str(edits["chain_id"])).chain_id
    return _direction_edits(db, item, edits) if kind == "direction" else edits


def _made(result: str | None) -> str:
    """What a review made, in words: target #12 created, priority node c/n set."""
    kind, _, ref = str(result or "").partition(":")
    return {"target": f"target #{ref} created", "priority": f"priority node {ref} set"}.get(
        kind, "recorded, nothing created")


def _said(done: Mapping[str, Any]) -> str:
    """The line a review prints: which item, what became of it, what it made."""
    verb = {"accepted": "accepted", "edited": "edited and accepted",
            "rejected": "rejected"}[done["status"]]
    line = f"Draft {done['draft_id']}, item {done['item_id']} ({done['kind']}) {verb}"
    if done["status"] != "rejected":
        line += f": {_made(done['result'])}"
    return line + (f" (reason: {escape(done['reason'])})" if done.get("reason") else "") + "."


def _review(db: DbOption, draft_id: int, item_id: int, action: str, *, as_json: bool,
            edits_of: EditsOf | None = None, reason: str | None = None) -> None:
    """Review one item as the command line's actor and print what it produced."""
    from chainatlas.intake.review import draft_item, review_item
    from chainatlas.store.audit import cli_actor

    actor = cli_actor()
    with open_store(db) as store:
        item = draft_item(store, draft_id, item_id)
        # a reviewed item is refused by review_item (its edits are not checked first)
        edits = edits_of(store, item) if edits_of and item["status"] == "proposed" else None
        state = review_item(store, draft_id, item_id, action, edits=edits, reason=reason,
                            actor=actor)
    done = {"draft_id": draft_id, **state, "kind": item["kind"], "reviewed_by": actor,
            **({"edits": edits} if edits else {}), **({"reason": reason} if reason else {})}
    if as_json:
        print_json(done)
        return
    console.print(_said(done), highlight=False)


@drafts_app.command("accept")
def drafts_accept(draft_id: DraftId, item_id: ItemId, db: DbOption = None,
                  as_json: JsonOption = False) -> None:
    """Accept an item: a target becomes a ledger target, a direction a priority node.

    A direction must be mapped to a node (else edit it); it becomes a priority node of
    the draft's region. Other kinds are accepted for the record and make nothing.
    """
    _review(db, draft_id, item_id, "accept", as_json=as_json)


@drafts_app.command("reject")
def drafts_reject(draft_id: DraftId, item_id: ItemId,
                  reason: Annotated[str | None, typer.Option(
                      "--reason", help="Why (kept in the audit log).")] = None,
                  db: DbOption = None, as_json: JsonOption = False) -> None:
    """Reject an item: it makes nothing."""
    _review(db, draft_id, item_id, "reject", as_json=as_json, reason=reason)


@drafts_app.command("edit")
def drafts_edit(
        draft_id: DraftId, item_id: ItemId,
        name: Annotated[str | None, typer.Option(
            "--name", help="A target's name in the ledger.")] = None,
        indicator: Annotated[str | None, typer.Option(
            "--indicator", help="A target's ledger indicator: revenue, project_count, "
            "investment, funds_in_place, growth_rate, firm_count (or 营业收入 …).")] = None,
        value: Annotated[float | None, typer.Option(
            "--value", help="A target's value in the item's unit (亿元 amounts of investment "
            "become the ledger's 万元).")] = None,
        period: Annotated[str | None, typer.Option(
            "--period", help="A target's period: 2027 or 2026-2028.")] = None,
        chain: Annotated[str | None, typer.Option(
            "--chain", help="The chain (id or Chinese name): a target's, or the one a "
            "direction maps to.")] = None,
        node: Annotated[str | None, typer.Option(
            "--node", help="The node (id or Chinese name) a direction maps to.")] = None,
        base_value: Annotated[float | None, typer.Option(
            "--base-value", help="A target's base value (optional).")] = None,
        db: DbOption = None, as_json: JsonOption = False) -> None:
    """Edit an item and accept it (the fields the 政策解读 page offers).

    A target's name, indicator, value, period, chain or base value; a direction's chain
    and node (a new chain needs its node).
    """
    given = {"name": name, "indicator_key": indicator, "value": value, "period": period,
             "chain_id": chain, "node_id": node, "base_value": base_value}
    _review(db, draft_id, item_id, "edit", as_json=as_json,
            edits_of=lambda store, item: _edits(store, item, given))
