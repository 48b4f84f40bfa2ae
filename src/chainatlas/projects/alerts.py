"""Alerts (预警): projects that stall and targets that fall behind, as one table.

Four kinds, each row naming its subject (a project or a target), who owns it, how many
days it is over (where days apply) and a Chinese message:

* ``stage_overdue`` — an open project (not ended, not paused, not yet 投产) has stayed in
  its stage longer than the stage's expected days (:data:`EXPECTED_DAYS`; a bureau sets
  its own with the settings ``projects.expected_days.<stage>``);
* ``start_overdue`` — its planned start date (计划开工日期) has passed and it has not
  started (a stage before 开工);
* ``funds_lagging`` — signed or later with an agreed amount and a signing date, its funds
  in place are below the expected share of the agreed amount: half of it, reached
  linearly over the first 24 months after signing (:func:`funds_expected_share`);
* ``target_behind`` — a target whose progress is below its time progress
  (:func:`chainatlas.projects.targets.target_progress`), once its period has begun.

Paused and ended projects raise no alert: someone has already decided about them. The
project alerts come from one SQL query over the ledger, so the table stays quick for a
ledger of ten thousand projects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from chainatlas.errors import ParameterError
from chainatlas.projects.stages import STAGE_LABELS, STAGES, stage_rank
from chainatlas.projects.targets import INDICATORS, region_prefix, target_progress
from chainatlas.store import Database
from chainatlas.store.lookup import as_region
from chainatlas.store.query import compose, param, values

#: Expected days in each stage before a project is overdue there (投产 is an end).
EXPECTED_DAYS = {"lead": 90, "negotiating": 180, "signed": 60, "registered": 90,
                 "started": 540}
#: The settings that override them: ``projects.expected_days.signed = 45``.
SETTING_PREFIX = "projects.expected_days."
#: Funds in place expected of a signed project: this share of the agreed amount ...
FUNDS_SHARE = 0.5
#: ... reached linearly over this many months after signing.
FUNDS_MONTHS = 24
#: When an alert is ``high`` rather than ``medium``: a stage held twice its expected
#: days, a start this many days late, funds under half the expected share, a target
#: this far (share of the way) behind its time progress.
HIGH_STAGE_FACTOR = 2
HIGH_START_DAYS = 90
HIGH_FUNDS_FACTOR = 0.5
HIGH_TARGET_GAP = 0.2
KINDS = ("stage_overdue", "start_overdue", "funds_lagging", "target_behind")
SEVERITIES = ("high", "medium")
ALERT_COLUMNS = ("kind", "severity", "subject", "subject_id", "name", "region_adcode",
                 "chain_id", "owner", "days_over", "message")
_BEFORE_STARTED = STAGES[:stage_rank("started")]
_SIGNED = STAGES[stage_rank("signed"):]


# --------------------------------------------------------------------------- pure rules


def funds_expected_share(months: float) -> float:
    """The share of the agreed amount expected in place ``months`` after signing:
    ``FUNDS_SHARE × min(1, months / FUNDS_MONTHS)`` (0 before signing)."""
    return FUNDS_SHARE * min(1.0, max(0.0, months) / FUNDS_MONTHS)


def stage_overdue_zh(stage: str, days: int, expected: int) -> str:
    """签约阶段已停留 95 天，超过预期 60 天"""
    return f"{STAGE_LABELS[stage]}阶段已停留 {days} 天，超过预期 {expected} 天"


def start_overdue_zh(stage: str, planned: dt.date, days: int) -> str:
    """计划开工日期 2025-03-01 已过 30 天，仍处于签约阶段"""
    return f"计划开工日期 {planned.isoformat()} 已过 {days} 天，仍处于{STAGE_LABELS[stage]}阶段"


def funds_lagging_zh(in_place: float, agreed: float, months: int) -> str:
    """到位资金 1,000 万元，仅为协议投资额 10,000 万元的 10.0%；签约 12 个月，应不低于 25.0%"""
    return (f"到位资金 {in_place:,.0f} 万元，仅为协议投资额 {agreed:,.0f} 万元的 "
            f"{in_place / agreed:.1%}；签约 {months} 个月，应不低于 "
            f"{funds_expected_share(months):.1%}")


def target_behind_zh(row: Mapping[Any, Any]) -> str:
    """营业收入完成进度 40.0%，落后于时序进度 62.5%（截至 2025-06-30）; for a rate,
    增速 6% 低于目标 8%（截至 …）."""
    indicator = INDICATORS[row["indicator"]]
    when = f"（截至 {row['data_as_of'].isoformat()}）"
    if indicator.rate:
        return (f"{indicator.label} {row['latest_value']:g}{row['unit']} 低于目标 "
                f"{row['target_value']:g}{row['unit']}{when}")
    return (f"{indicator.label}完成进度 {row['progress']:.1%}，落后于时序进度 "
            f"{row['time_progress']:.1%}{when}")


# --------------------------------------------------------------------------- settings


def expected_days(db: Database) -> dict[str, int]:
    """The expected days per stage: :data:`EXPECTED_DAYS` with the store's overrides
    (settings ``projects.expected_days.<stage>``); ParameterError naming a setting that
    is not a stage with expected days or not a positive whole number of days."""
    out = dict(EXPECTED_DAYS)
    for row in db.rows("SELECT key, value FROM settings WHERE starts_with(key, ?) "
                       "ORDER BY key", [SETTING_PREFIX]):
        key, stage = str(row["key"]), str(row["key"])[len(SETTING_PREFIX):]
        if stage not in EXPECTED_DAYS:
            raise ParameterError(f"{key}: {stage!r} is not a stage with expected days "
                                 f"(use {', '.join(EXPECTED_DAYS)})")
        try:
            days = int(str(row["value"]).strip())
        except ValueError:
            days = 0
        if days <= 0:
            raise ParameterError(f"{key}: {row['value']!r} is not a positive number of days")
        out[stage] = days
    return out


# --------------------------------------------------------------------------- alerts

_PROJECT_ALERTS = """
WITH p AS (
    SELECT project_id, name, region_adcode, chain_id, owner, stage, stage_since,
           planned_start_date, signed_date, agreed_wan::DOUBLE AS agreed,
           coalesce(in_place_wan, 0)::DOUBLE AS in_place
    FROM projects WHERE NOT ended AND NOT paused AND starts_with(region_adcode, {prefix})),
e AS (SELECT unnest({stages}) AS stage, unnest({days}) AS expected)
SELECT 'stage_overdue' AS kind, p.*, {as_of} - p.stage_since AS days, e.expected,
       {as_of} - p.stage_since - e.expected AS days_over
FROM p JOIN e USING (stage) WHERE {as_of} - p.stage_since > e.expected
UNION ALL BY NAME
SELECT 'start_overdue' AS kind, p.*, {as_of} - p.planned_start_date AS days_over
FROM p WHERE p.planned_start_date < {as_of} AND list_contains({before_started}, p.stage)
UNION ALL BY NAME
SELECT 'funds_lagging' AS kind, p.*, date_sub('month', p.signed_date, {as_of}) AS months
FROM p WHERE list_contains({signed}, p.stage) AND p.agreed > 0
    AND p.signed_date IS NOT NULL
    AND p.in_place / p.agreed < {share} * least(1.0, greatest(0,
        date_sub('month', p.signed_date, {as_of})) / {months})
"""


def _project_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """One alert row of a project from the query's row: severity and message."""
    kind = row["kind"]
    if kind == "stage_overdue":
        high = row["days"] >= HIGH_STAGE_FACTOR * row["expected"]
        message = stage_overdue_zh(row["stage"], int(row["days"]), int(row["expected"]))
    elif kind == "start_overdue":
        high = row["days_over"] > HIGH_START_DAYS
        message = start_overdue_zh(row["stage"], row["planned_start_date"],
                                   int(row["days_over"]))
    else:
        months = int(row["months"])
        high = row["in_place"] / row["agreed"] < (HIGH_FUNDS_FACTOR
                                                  * funds_expected_share(months))
        message = funds_lagging_zh(row["in_place"], row["agreed"], months)
    days = row.get("days_over")
    return {"kind": kind, "severity": "high" if high else "medium", "subject": "project",
            "subject_id": int(row["project_id"]), "name": row["name"],
            "region_adcode": row["region_adcode"], "chain_id": row["chain_id"],
            "owner": row["owner"], "days_over": None if days is None else int(days),
            "message": message}


def project_alerts(db: Database, as_of: dt.date, prefix: str = "") -> list[dict[str, Any]]:
    """The alerts of the projects whose region adcode starts with ``prefix`` (one
    query)."""
    days = expected_days(db)
    rows = db.rows(compose(
        _PROJECT_ALERTS, prefix=param(prefix), stages=values(days),
        days=values(days.values()), as_of=param(as_of),
        before_started=values(_BEFORE_STARTED), signed=values(_SIGNED),
        share=param(FUNDS_SHARE), months=param(float(FUNDS_MONTHS))))
    return [_project_row(row) for row in rows]


def target_alerts(db: Database, as_of: dt.date, prefix: str = "") -> list[dict[str, Any]]:
    """The targets behind on ``as_of`` whose period has begun and whose region adcode
    starts with ``prefix``; ``days_over`` is the gap in days of the period (none for a
    rate, which has no way to cover)."""
    out = []
    for row in target_progress(db, as_of).to_dict("records"):
        if not row["behind"] or row["period_start"] > as_of \
                or not str(row["region_adcode"]).startswith(prefix):
            continue
        rate = INDICATORS[row["indicator"]].rate
        period = (row["period_end"] - row["period_start"]).days + 1
        out.append({"kind": "target_behind",
                    "severity": "high" if row["gap"] >= HIGH_TARGET_GAP else "medium",
                    "subject": "target", "subject_id": int(row["target_id"]),
                    "name": row["name"], "region_adcode": row["region_adcode"],
                    "chain_id": row["chain_id"], "owner": row["owner"],
                    "days_over": None if rate else round(row["gap"] * period),
                    "message": target_behind_zh(row)})
    return out


def alerts_frame(db: Database, as_of: dt.date, *, region: str | None = None) -> pd.DataFrame:
    """Every alert on ``as_of`` (of ``region`` and the places inside it when given), with
    :data:`ALERT_COLUMNS`: high before medium, then by kind, most days over first."""
    prefix = "" if region is None else region_prefix(as_region(db, region))
    rows = project_alerts(db, as_of, prefix) + target_alerts(db, as_of, prefix)
    frame = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    frame["days_over"] = frame["days_over"].astype("Int64")
    frame["subject_id"] = frame["subject_id"].astype("int64")
    order = frame.assign(_s=frame["severity"].map(SEVERITIES.index),
                         _k=frame["kind"].map(KINDS.index))
    order = order.sort_values(["_s", "_k", "days_over", "subject_id"],
                              ascending=[True, True, False, True], na_position="last")
    return order.drop(columns=["_s", "_k"]).reset_index(drop=True)
