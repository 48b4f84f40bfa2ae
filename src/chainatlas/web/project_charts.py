"""ECharts options and display rows of the 项目库 and 目标监测 pages (pure functions).

Amounts arrive in 万元 (the ledger's unit) and are shown in 亿元 once they reach 1 亿;
progress arrives as shares (0.42) and is charted in percent. Tooltips are escaped HTML
in each data item's ``tip``, as in :mod:`chainatlas.web.charts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chainatlas.projects.fields import BY_NAME
from chainatlas.projects.stages import ENDED_LABEL, PAUSED_LABEL, STAGE_LABELS, STAGES
from chainatlas.web.charts import ACCENT, FONT, PRIMARY, TIP_FORMATTER, esc

#: One colour per stage, 线索 pale to 投产 deep.
STAGE_COLOURS = {"lead": "#9DB4D6", "negotiating": "#73C0DE", "signed": "#3E72B8",
                 "registered": "#1D4F91", "started": "#3BA272", "producing": "#1E7A43"}
BEHIND_COLOUR = ACCENT
ON_TRACK_COLOUR = "#2E9D5B"
TIME_COLOUR = "#B8C2D1"
#: The Chinese name of each kind of project event.
EVENT_KINDS = {"create": "新建", "move": "推进阶段", "update": "修改", "pause": "暂停",
               "resume": "恢复", "end": "终止", "import": "导入"}
#: The state fields an event may change, named as people say them.
STATE_LABELS = {"stage": "阶段", "stage_since": "进入阶段日期", "paused": PAUSED_LABEL,
                "ended": ENDED_LABEL, "origin": "来源"}
_BASE: dict[str, Any] = {"textStyle": {"fontFamily": FONT}, "animationDuration": 400}


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if number != number else number


def wan_zh(value: Any) -> str:
    """An amount in 万元 as people read it: 3,500万元, 2.15亿元, — when missing."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    wan = _number(value)
    if abs(wan) >= 10_000:
        return f"{wan / 10_000:,.2f}亿元"
    return f"{wan:,.0f}万元" if wan == int(wan) else f"{wan:,.2f}万元"


def share_zh(value: Any) -> str:
    """A share (0.425) as a percentage (42.5%), — when missing."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    return f"{100 * _number(value):.1f}%"


def _tooltip() -> dict[str, Any]:
    return {"trigger": "item", "confine": True, ":formatter": TIP_FORMATTER}


# -- the ledger ---------------------------------------------------------------------------


def stage_board(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The kanban columns: one per stage in order, each with its count, agreed amount
    (万元), paused count and its projects (largest agreed amount first)."""
    columns: dict[str, dict[str, Any]] = {
        s: {"stage": s, "label": STAGE_LABELS[s], "colour": STAGE_COLOURS[s], "count": 0,
            "agreed_wan": 0.0, "paused": 0, "items": []} for s in STAGES}
    for row in rows:
        column = columns.get(str(row.get("stage")))
        if column is None:
            continue
        column["count"] += 1
        column["agreed_wan"] += _number(row.get("agreed_wan"))
        column["paused"] += bool(row.get("paused"))
        column["items"].append({"project_id": int(row["project_id"]),
                                "name": str(row.get("name") or ""),
                                "investor": str(row.get("investor_name") or ""),
                                "agreed": wan_zh(row.get("agreed_wan")),
                                "agreed_wan": _number(row.get("agreed_wan")),
                                "paused": bool(row.get("paused")),
                                "ended": bool(row.get("ended"))})
    for column in columns.values():
        column["items"].sort(key=lambda i: (-i["agreed_wan"], i["project_id"]))
    return list(columns.values())


def stage_bar_option(breakdown: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Projects per stage (bars, a colour per stage) and their agreed amount in 亿元
    (a line on the right axis); every stage shown, zeros included."""
    by_key = {str(r["key"]): r for r in breakdown}
    bars, amounts = [], []
    for stage in STAGES:
        row = by_key.get(stage, {})
        count = int(_number(row.get("projects")))
        agreed = _number(row.get("agreed_wan"))
        tip = (f"<b>{esc(STAGE_LABELS[stage])}</b><br/>项目 {count} 个<br/>"
               f"协议投资额 {esc(wan_zh(agreed))}")
        bars.append({"value": count, "itemStyle": {"color": STAGE_COLOURS[stage]},
                     "tip": tip})
        amounts.append({"value": round(agreed / 10_000, 2), "tip": tip})
    return {**_BASE, "tooltip": _tooltip(),
            "legend": {"top": 0, "data": ["项目数", "协议投资额（亿元）"]},
            "grid": {"left": 48, "right": 64, "top": 36, "bottom": 28},
            "xAxis": {"type": "category", "data": [STAGE_LABELS[s] for s in STAGES]},
            "yAxis": [{"type": "value", "name": "项目数", "minInterval": 1},
                      {"type": "value", "name": "亿元", "splitLine": {"show": False}}],
            "series": [{"name": "项目数", "type": "bar", "barWidth": "45%", "data": bars,
                        "itemStyle": {"color": PRIMARY},
                        "label": {"show": True, "position": "top"}},
                       {"name": "协议投资额（亿元）", "type": "line", "yAxisIndex": 1,
                        "data": amounts, "itemStyle": {"color": "#F0B429"}}]}


def breakdown_option(rows: Sequence[Mapping[str, Any]], title: str,
                     limit: int = 12) -> dict[str, Any]:
    """Agreed amount (亿元) per group of a breakdown (chain, park, region), largest
    group first, as horizontal bars."""
    top = sorted(rows, key=lambda r: -_number(r.get("agreed_wan")))[:limit]
    top.reverse()  # ECharts draws the first category at the bottom
    data = [{"value": round(_number(r.get("agreed_wan")) / 10_000, 2),
             "tip": f"<b>{esc(r.get('label') or '—')}</b><br/>项目 "
                    f"{int(_number(r.get('projects')))} 个<br/>协议投资额 "
                    f"{esc(wan_zh(r.get('agreed_wan')))}"} for r in top]
    return {**_BASE, "tooltip": _tooltip(),
            "grid": {"left": 120, "right": 40, "top": 28, "bottom": 24},
            "xAxis": {"type": "value", "name": "亿元"},
            "yAxis": {"type": "category", "data": [str(r.get("label") or "—") for r in top]},
            "series": [{"name": title, "type": "bar", "data": data, "barWidth": "55%",
                        "itemStyle": {"color": PRIMARY},
                        "label": {"show": True, "position": "right"}}]}


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if name == "stage":
        return STAGE_LABELS.get(str(value), str(value))
    if name in ("paused", "ended"):
        return "是" if value else "否"
    if name in BY_NAME and BY_NAME[name].kind == "amount":
        return wan_zh(value)
    return str(value)


def field_label(name: str) -> str:
    """The Chinese label of a project field or state field."""
    return BY_NAME[name].label if name in BY_NAME else STATE_LABELS.get(name, name)


def change_lines(changes: Mapping[str, Sequence[Any]]) -> list[str]:
    """An event's changes, one "label：from → to" per field (a new project's fields as
    "label：value")."""
    lines = []
    for name, pair in changes.items():
        before, after = [*pair, None, None][:2]
        if before is None:
            lines.append(f"{field_label(name)}：{_shown(name, after)}")
        else:
            lines.append(f"{field_label(name)}：{_shown(name, before)} → "
                         f"{_shown(name, after)}")
    return lines


def event_rows(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A project's events as timeline rows, newest first: version, when, who, what
    (Chinese), the changed fields and why."""
    rows = []
    for event in events:
        changes = event.get("changes") or {}
        rows.append({"version": int(event["version"]), "at": str(event.get("at", ""))[:19],
                     "actor": str(event.get("actor") or ""),
                     "kind": EVENT_KINDS.get(str(event.get("kind")), str(event.get("kind"))),
                     "changes": "；".join(change_lines(changes)),
                     "reason": str(event.get("reason") or "")})
    return sorted(rows, key=lambda r: -r["version"])


# -- targets ------------------------------------------------------------------------------


def progress_option(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each target's 完成进度 (red when behind, green otherwise) beside its 时序进度
    (grey), in percent, a pair of horizontal bars per target."""
    shown = list(reversed(rows))  # the first target on top
    done: list[dict[str, Any]] = []
    due: list[dict[str, Any]] = []
    for r in shown:
        name = esc(r.get("name"))
        tip = (f"<b>{name}</b><br/>完成进度 {esc(share_zh(r.get('progress')))} · 时序进度 "
               f"{esc(share_zh(r.get('time_progress')))}<br/>最新值 "
               f"{esc(_value(r.get('latest_value')))} / 目标 "
               f"{esc(_value(r.get('target_value')))} {esc(r.get('unit') or '')}")
        colour = BEHIND_COLOUR if r.get("behind") else ON_TRACK_COLOUR
        done.append({"value": _percent(r.get("progress")), "itemStyle": {"color": colour},
                     "tip": tip})
        due.append({"value": _percent(r.get("time_progress")), "tip": tip})
    return {**_BASE, "tooltip": _tooltip(),
            "legend": {"top": 0, "data": ["完成进度", "时序进度"]},
            "grid": {"left": 160, "right": 48, "top": 32, "bottom": 24},
            "xAxis": {"type": "value", "name": "%", "min": 0,
                      "max": max([100.0] + [float(d["value"] or 0) for d in done])},
            "yAxis": {"type": "category", "data": [str(r.get("name") or "") for r in shown]},
            "series": [{"name": "完成进度", "type": "bar", "data": done,
                        "barGap": "10%", "barMaxWidth": 18,
                        "itemStyle": {"color": ON_TRACK_COLOUR},
                        "label": {"show": True, "position": "right", "formatter": "{c}%"}},
                       {"name": "时序进度", "type": "bar", "data": due, "barMaxWidth": 18,
                        "itemStyle": {"color": TIME_COLOUR}}]}


def progress_height(option: Mapping[str, Any]) -> int:
    """The pixel height of a progress chart: room for a pair of bars per target."""
    return 80 + 44 * max(1, len(option["yAxis"]["data"]))


def _percent(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return round(100 * _number(value), 1)


def _value(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    return f"{_number(value):,.2f}".rstrip("0").rstrip(".")


# -- alerts -------------------------------------------------------------------------------

#: The Chinese name of each kind of alert and of each severity.
ALERT_KINDS = {"stage_overdue": "阶段超期", "start_overdue": "开工逾期",
               "funds_lagging": "资金到位滞后", "target_behind": "目标落后"}
SEVERITY_ZH = {"high": "高", "medium": "中"}


def alert_rows(alerts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The alert table's rows (the order given: high first), each with a link to its
    project's page when the subject is a project."""
    rows = []
    for i, a in enumerate(alerts):
        days = a.get("days_over")
        project = a.get("subject") == "project"
        rows.append({"key": i, "severity": SEVERITY_ZH.get(str(a.get("severity")),
                                                           str(a.get("severity"))),
                     "kind": ALERT_KINDS.get(str(a.get("kind")), str(a.get("kind"))),
                     "subject": "项目" if project else "目标",
                     "name": str(a.get("name") or ""),
                     "href": f"/project/{int(a['subject_id'])}" if project else "",
                     "owner": str(a.get("owner") or "—") if a.get("owner") is not None
                     else "—",
                     "days": "—" if days is None or days != days else f"{int(days)} 天",
                     "message": str(a.get("message") or "")})
    return rows


def target_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The target table's rows: values, 完成进度, 时序进度 and whether it is behind."""
    out = []
    for r in rows:
        unit = str(r.get("unit") or "")
        out.append({"target_id": int(r["target_id"]), "name": str(r.get("name") or ""),
                    "indicator": str(r.get("indicator_label") or r.get("indicator") or ""),
                    "region": str(r.get("region_name") or r.get("region_adcode") or ""),
                    "target": f"{_value(r.get('target_value'))} {unit}".strip(),
                    "latest": f"{_value(r.get('latest_value'))} {unit}".strip(),
                    "month": "—" if r.get("latest_month") is None
                    else str(r["latest_month"])[:7],
                    "progress": share_zh(r.get("progress")),
                    "time": share_zh(r.get("time_progress")),
                    "status": "落后" if r.get("behind") else (
                        "暂无数据" if r.get("progress") is None else "正常")})
    return out
