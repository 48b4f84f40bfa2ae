"""Industry targets (产业目标): what a region set out to reach, and how far it has come.

A target names an indicator (营业收入, 项目数, 投资额, 到位资金, 增速, 节点企业数) for a
region, optionally one chain and one node of it, with a base year and value, a target
value and the period it is to be reached in (e.g. 生物医药营业收入 from 120 亿元 in 2023 to
240 亿元 by the end of 2026: 三年倍增). Its monthly values are snapshots, recorded by hand
(:func:`record_snapshot`) or, for the indicators the store can count, computed from the
project ledger and the firm placements (:func:`auto_snapshots`).

Progress (完成进度) is the share of the way from the base to the target value that the
latest snapshot has come; time progress (时序进度) the share of the period's days gone by
the snapshot's date. A target is behind (落后于时序进度) when the first is below the
second. Stored values are exact decimals; ratios are floats. The math is pure and at the
top of the module; every write runs in one transaction with its audit line
(``target.add``, ``target.update``, ``target.snapshot``).

What the ledger counts, per target, as of a month's end (see :func:`ledger_value`): the
projects of the target's region (its adcode prefix: a province's 2 digits, a city's 4, a
district exactly), chain and node subtree that are not ended, stand at 签约 or later and
were signed within the period by that day. 项目数 counts them (签约项目), 投资额 sums
their agreed amounts (协议投资额), 到位资金 their funds in place. The ledger keeps each
project's current amounts, not a dated series of them, so a month computed afterwards
uses today's amounts of the projects signed by that month's end.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from chainatlas.analysis.overview import chain_local_firms, firm_counts
from chainatlas.analysis.regional import node_counts
from chainatlas.errors import ConflictError, NotFoundError, ParameterError
from chainatlas.projects.stages import STAGES, stage_rank
from chainatlas.store import Database, audit
from chainatlas.store.lookup import Region, as_chain, as_region
from chainatlas.store.query import Q, adcode_prefix, compose, ident, join, param, values

Number = Decimal | float | int


@dataclass(frozen=True)
class Indicator:
    """One kind of target figure: its key, Chinese name and default unit."""

    key: str
    label: str
    unit: str
    #: a rate (增速): progress is current / target, and no growth is required of it
    rate: bool = False
    #: the store computes its monthly value (:func:`auto_snapshots`)
    computed: bool = False


INDICATORS: dict[str, Indicator] = {i.key: i for i in (
    Indicator("revenue", "营业收入", "亿元"),
    Indicator("project_count", "项目数", "个", computed=True),
    Indicator("investment", "投资额", "万元", computed=True),
    Indicator("funds_in_place", "到位资金", "万元", computed=True),
    Indicator("growth_rate", "增速", "%", rate=True),
    Indicator("firm_count", "节点企业数", "家", computed=True),
)}
#: The stages whose projects count as signed (签约 or later).
SIGNED_STAGES = STAGES[stage_rank("signed"):]
#: The origin of a snapshot computed by :func:`auto_snapshots`.
AUTO = "auto"
#: The largest magnitude a stored value (DECIMAL(20, 4)) holds.
_LIMIT = Decimal(10) ** 16
_PLACES = Decimal("0.0001")


# --------------------------------------------------------------------------- pure math


def time_progress(start: dt.date, end: dt.date, as_of: dt.date) -> float:
    """时序进度: the share of the period's days gone by the end of ``as_of``, in [0, 1].

    Both ends of the period count (2025-01-01 to 2025-12-31 has 365 days); a day before
    the start gives 0, the last day and later 1.
    """
    total = (end - start).days + 1
    if total <= 0:
        return 1.0 if as_of >= end else 0.0
    return min(1.0, max(0.0, ((as_of - start).days + 1) / total))


def progress(base: Number | None, target: Number, current: Number | None, *,
             rate: bool = False) -> float | None:
    """完成进度: the share of the way from ``base`` (None: 0) to ``target`` that
    ``current`` has come; beyond 1 when the target is exceeded, below 0 when the value
    fell under the base. For a rate indicator (``rate``: 增速) it is current / target.

    None when there is no current value or the share is undefined (target equal to the
    base, a zero target rate).
    """
    if current is None:
        return None
    if rate:
        return None if float(target) == 0 else float(current) / float(target)
    start = 0.0 if base is None else float(base)
    span = float(target) - start
    if span == 0:
        return None
    return (float(current) - start) / span


def cagr(base: Number | None, value: Number, years: float) -> float | None:
    """The compound annual growth rate from ``base`` to ``value`` over ``years``; None
    when it is undefined (no or a non-positive base, a negative value, no years)."""
    if base is None or float(base) <= 0 or float(value) < 0 or years <= 0:
        return None
    return float((float(value) / float(base)) ** (1.0 / years) - 1.0)


def doubling_rate(years: float) -> float:
    """The annual growth that doubles a value in ``years`` (三年倍增: 2^(1/3) - 1 ≈ 25.99%)."""
    if years <= 0:
        raise ParameterError(f"years: a doubling needs a positive number of years, not {years}")
    return float(2.0 ** (1.0 / years) - 1.0)


def yoy(current: Number | None, previous: Number | None) -> float | None:
    """同比: the change from ``previous`` to ``current`` as a share of ``previous`` (its
    size, so a negative base still reads the right way); None without a non-zero base."""
    if current is None or previous is None or float(previous) == 0:
        return None
    return (float(current) - float(previous)) / abs(float(previous))


def plan_years(base_year: int, period_end: dt.date) -> float:
    """The years from the end of ``base_year`` to ``period_end`` (whole years when the
    period ends on 31 December; a part year counts its share of days)."""
    days = 366 if calendar.isleap(period_end.year) else 365
    part = period_end.timetuple().tm_yday / days
    return period_end.year - 1 - base_year + part


def month_start(value: dt.date | str) -> dt.date:
    """The first day of the month a date (or ``2025-03`` / ``2025-03-15``) falls in."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
        except ValueError:
            raise ParameterError(f"month: {text!r} is not a month (YYYY-MM)") from None
    if not isinstance(value, dt.date):
        raise ParameterError(f"month: {value!r} is not a month (YYYY-MM)")
    return value.replace(day=1)


def month_end(month: dt.date) -> dt.date:
    """The last day of ``month``'s month."""
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def region_prefix(region: Region) -> str:
    """The adcode prefix the places inside a region share (province 2 digits, city 4,
    district all 6)."""
    return adcode_prefix(region.adcode)


# --------------------------------------------------------------------------- values


def indicator_of(text: str) -> Indicator:
    """The indicator named by its key (revenue) or Chinese name (营业收入)."""
    value = str(text).strip()
    found = INDICATORS.get(value) or next(
        (i for i in INDICATORS.values() if i.label == value), None)
    if found is None:
        names = ", ".join(f"{i.key} ({i.label})" for i in INDICATORS.values())
        raise ParameterError(f"indicator: unknown indicator {text!r}; use one of {names}")
    return found


def as_decimal(value: Any, field: str, *, required: bool = True) -> Decimal | None:
    """A stored value (4 decimal places) from a number or its text; ParameterError
    naming ``field`` when it is not a finite number in range."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ParameterError(f"{field}: a value is needed")
        return None
    if isinstance(value, bool):
        raise ParameterError(f"{field}: {value!r} is not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(
            str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ParameterError(f"{field}: {value!r} is not a number") from None
    if not number.is_finite() or abs(number) >= _LIMIT:
        raise ParameterError(f"{field}: {value!r} is not a finite number below 10^16")
    return number.quantize(_PLACES)


def as_date(value: Any, field: str) -> dt.date:
    """A date from a date or ISO text; ParameterError naming ``field`` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ParameterError(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None


def _text(value: Any, field: str, *, required: bool = False) -> str | None:
    text = None if value is None else str(value).strip() or None
    if text is None and required:
        raise ParameterError(f"{field}: a value is needed")
    return text


def _year(value: Any) -> int:
    try:
        year = int(str(value).strip())
    except ValueError:
        raise ParameterError(f"base_year: {value!r} is not a year") from None
    if not 1949 <= year <= 2100:
        raise ParameterError(f"base_year: {year} is not a plausible year")
    return year


def _place(db: Database, raw: Mapping[str, Any]) -> dict[str, Any]:
    """region_adcode, chain_id and node_id, resolved and checked against each other."""
    try:
        region = as_region(db, raw["region_adcode"]).adcode
    except (NotFoundError, KeyError, TypeError) as exc:
        raise ParameterError(f"region: {exc}") from exc
    chain_text, node_text = _text(raw.get("chain_id"), "chain"), _text(raw.get("node_id"),
                                                                      "node")
    if chain_text is None:
        if node_text is not None:
            raise ParameterError("node: a node needs its chain")
        return {"region_adcode": region, "chain_id": None, "node_id": None}
    try:
        chain = as_chain(db, chain_text)
    except NotFoundError as exc:
        raise ParameterError(f"chain: {exc}") from exc
    try:
        node = None if node_text is None else chain.node(node_text).node_id
    except NotFoundError as exc:
        raise ParameterError(f"node: {exc}") from exc
    return {"region_adcode": region, "chain_id": chain.chain_id, "node_id": node}


def clean_target(db: Database, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A target's stored columns from given values (column names), every one checked."""
    indicator = indicator_of(raw.get("indicator") or "")
    row: dict[str, Any] = {
        "name": _text(raw.get("name"), "name", required=True),
        "indicator": indicator.key, **_place(db, raw),
        "unit": _text(raw.get("unit"), "unit") or indicator.unit,
        "base_year": _year(raw.get("base_year")),
        "base_value": as_decimal(raw.get("base_value"), "base_value", required=False),
        "target_value": as_decimal(raw.get("target_value"), "target_value"),
        "period_start": as_date(raw.get("period_start"), "period_start"),
        "period_end": as_date(raw.get("period_end"), "period_end"),
        "source": _text(raw.get("source"), "source"),
        "owner": _text(raw.get("owner"), "owner")}
    if row["period_end"] < row["period_start"]:
        raise ParameterError(f"period_end: {row['period_end']} is before the period's start "
                             f"{row['period_start']}")
    if row["base_year"] > row["period_end"].year:
        raise ParameterError(f"base_year: {row['base_year']} is after the period's end "
                             f"{row['period_end']}")
    return row


# --------------------------------------------------------------------------- writes

#: The columns a target's update may change, and the names the callers may use for them.
EDITABLE = ("name", "indicator", "region_adcode", "chain_id", "node_id", "unit", "base_year",
            "base_value", "target_value", "period_start", "period_end", "source", "owner")
ALIASES = {"region": "region_adcode", "chain": "chain_id", "node": "node_id"}


def _subject(target_id: int) -> str:
    return f"target:{target_id}"


def get_target(db: Database, target_id: int) -> dict[str, Any]:
    """One target's row; NotFoundError when there is none."""
    rows = db.rows("SELECT * FROM targets WHERE target_id = ?", [int(target_id)])
    if not rows:
        raise NotFoundError(f"No target {target_id}.")
    return rows[0]


def add_target(db: Database, *, name: str, indicator: str, region: Region | str,
               chain: str | None = None, node: str | None = None, unit: str | None = None,
               base_year: int, base_value: Number | str | None, target_value: Number | str,
               period_start: dt.date | str, period_end: dt.date | str,
               source: str | None = None, actor: str) -> int:
    """Store a new target (version 1) with its ``target.add`` audit line; return its id."""
    row = clean_target(db, {
        "name": name, "indicator": indicator, "region_adcode": region, "chain_id": chain,
        "node_id": node, "unit": unit, "base_year": base_year, "base_value": base_value,
        "target_value": target_value, "period_start": period_start,
        "period_end": period_end, "source": source})
    now = audit.now_utc()
    with db.transaction():
        target_id = int(db.scalar("SELECT coalesce(max(target_id), 0) + 1 FROM targets"))
        columns = {"target_id": target_id, **row, "version": 1, "created_at": now,
                   "updated_at": now}
        db.execute(compose("INSERT INTO targets ({names}) VALUES ({marks})",
                           names=join([ident(k) for k in columns], ", "),
                           marks=join([param(v) for v in columns.values()], ", ")))
        audit.record(db, actor, "target.add", _subject(target_id), None,
                     {**row, "version": 1})
    return target_id


def _changed_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Caller's changes keyed by column; ParameterError for a field no update may set."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        column = ALIASES.get(key, key)
        if column not in EDITABLE:
            raise ParameterError(f"{key}: not a field of a target that can be changed "
                                 f"(use {', '.join(EDITABLE)})")
        out[column] = value
    return out


def changes_since(db: Database, target_id: int, version: int) -> list[dict[str, object]]:
    """The updates of a target after ``version``, oldest first: version, actor, at and
    ``changes`` ({field: [from, to]}), read from the audit log."""
    out: list[dict[str, object]] = []
    for row in db.rows("SELECT \"at\", actor, \"before\", \"after\" FROM audit_log "
                       "WHERE action = 'target.update' AND target = ? ORDER BY id",
                       [_subject(target_id)]):
        before, after = json.loads(row["before"] or "{}"), json.loads(row["after"] or "{}")
        if int(after.get("version", 0)) <= version:
            continue
        out.append({"version": after["version"], "actor": row["actor"], "at": row["at"],
                    "changes": {k: [before.get(k), v] for k, v in after.items()
                                if k != "version"}})
    return out


def update_target(db: Database, target_id: int, changes: Mapping[str, Any], *, actor: str,
                  expected_version: int) -> dict[str, Any]:
    """Change a target's fields and return its new row (the version one higher).

    ``expected_version`` is the version the writer saw: when the target has moved on
    since, a ConflictError lists the changes made meanwhile and nothing is written. A
    change of indicator without a unit takes the new indicator's unit. Changes that leave
    every field as it was write nothing.
    """
    fields = _changed_fields(changes)
    with db.transaction():
        old = get_target(db, target_id)
        if int(old["version"]) != int(expected_version):
            raise ConflictError(
                f"Target {target_id} was changed by someone else (version {old['version']}, "
                f"you saw {expected_version}); review their changes and redo yours.",
                changes_since(db, target_id, int(expected_version)))
        merged = {k: old[k] for k in EDITABLE} | fields
        if "indicator" in fields and "unit" not in fields:
            merged["unit"] = None
        new = clean_target(db, merged)
        diff = {k: (old[k], new[k]) for k in EDITABLE if old[k] != new[k]}
        if not diff:
            return old
        version = int(old["version"]) + 1
        sets = join([compose("{c} = {v}", c=ident(k), v=param(new[k])) for k in diff], ", ")
        db.execute(compose("UPDATE targets SET {sets}, version = {version}, updated_at = {now} "
                           "WHERE target_id = {id}", sets=sets, version=param(version),
                           now=param(audit.now_utc()), id=param(int(target_id))))
        audit.record(db, actor, "target.update", _subject(target_id),
                     {**{k: a for k, (a, _) in diff.items()}, "version": version - 1},
                     {**{k: b for k, (_, b) in diff.items()}, "version": version})
        return get_target(db, target_id)


def record_snapshot(db: Database, target_id: int, month: dt.date | str,
                    value: Number | str, *, actor: str, note: str | None = None,
                    origin: str = "manual") -> dict[str, Any]:
    """Store a target's value for a month (normalised to its 1st) with its
    ``target.snapshot`` audit line; a month recorded before is replaced (the audit line
    keeps the old value). Returns the stored snapshot."""
    first = month_start(month)
    amount = as_decimal(value, "value")
    kind = _text(origin, "origin", required=True)
    with db.transaction():
        get_target(db, target_id)
        return _write_snapshot(db, int(target_id), first, amount, actor=actor,
                               note=_text(note, "note"), origin=str(kind))


def _write_snapshot(db: Database, target_id: int, month: dt.date, value: Decimal | None,
                    *, actor: str, note: str | None, origin: str) -> dict[str, Any]:
    """Replace one snapshot and audit it (inside the caller's transaction)."""
    old = db.rows("SELECT value, origin, note FROM target_snapshots "
                  "WHERE target_id = ? AND month = ?", [target_id, month])
    db.execute("DELETE FROM target_snapshots WHERE target_id = ? AND month = ?",
               [target_id, month])
    row = {"target_id": target_id, "month": month, "value": value, "origin": origin,
           "actor": actor, "recorded_at": audit.now_utc(), "note": note}
    db.execute("INSERT INTO target_snapshots (target_id, month, value, origin, actor, "
               "recorded_at, note) VALUES (?, ?, ?, ?, ?, ?, ?)", list(row.values()))
    audit.record(db, actor, "target.snapshot", _subject(target_id),
                 {"month": month, **old[0]} if old else None,
                 {"month": month, "value": value, "origin": origin, "note": note})
    return row


# --------------------------------------------------------------------------- computed values


def ledger_value(db: Database, target: Mapping[str, Any], as_of: dt.date) -> Decimal:
    """The value of a computed indicator for a target as of a day (module docs): signed
    projects from the ledger, or firms placed on the target's chain node in its region."""
    indicator = indicator_of(target["indicator"])
    if not indicator.computed:
        raise ParameterError(f"indicator: {indicator.label} is not computed from the store; "
                             "record its snapshots by hand")
    region = as_region(db, target["region_adcode"])
    if indicator.key == "firm_count":
        return Decimal(firm_count_value(db, target, region, as_of.year))
    until = min(as_of, target["period_end"])
    where = [Q("NOT p.ended"), Q("starts_with(p.region_adcode, ?)", (region_prefix(region),)),
             compose("list_contains({stages}, p.stage)", stages=values(SIGNED_STAGES)),
             Q("p.signed_date BETWEEN ? AND ?", (target["period_start"], until))]
    if target["chain_id"] is not None:
        where.append(Q("p.chain_id = ?", (target["chain_id"],)))
    if target["node_id"] is not None:
        nodes = as_chain(db, target["chain_id"]).subtree(target["node_id"])
        where.append(compose("list_contains({nodes}, p.node_id)", nodes=values(nodes)))
    row = db.rows(compose(
        "SELECT count(*) AS project_count, coalesce(sum(p.agreed_wan), 0) AS investment, "
        "coalesce(sum(p.in_place_wan), 0) AS funds_in_place FROM projects p WHERE {where}",
        where=join(where)))[0]
    return Decimal(row[indicator.key]).quantize(_PLACES)


def firm_count_value(db: Database, target: Mapping[str, Any], region: Region,
                     year: int) -> int:
    """节点企业数: the region's firms placed on the target's node (and below it) founded
    or listed by ``year``, through the regional panorama's own counts; without a node,
    the region's distinct firms on the chain (or on any chain) as the store holds them."""
    if target["chain_id"] is None:
        return int(firm_counts(db, region)["on_chain"])
    chain = as_chain(db, target["chain_id"])
    if target["node_id"] is None:
        return int(chain_local_firms(db, region).get(chain.chain_id, 0))
    counts = node_counts(db, chain, region, as_of=year)
    hit = counts[counts["node_id"] == target["node_id"]]
    return int(hit["local_firms"].iloc[0]) if len(hit) else 0


def auto_snapshots(db: Database, month: dt.date | str, *, actor: str) -> int:
    """Compute and store, for every target with a computed indicator whose period
    overlaps the month, its value as of the month's last day (origin ``auto``); return
    how many snapshots were written. A month recorded by hand (any other origin) stands,
    and an unchanged value is not written again."""
    first = month_start(month)
    last = month_end(first)
    computed = [k for k, i in INDICATORS.items() if i.computed]
    with db.transaction():
        targets = db.rows(compose(
            "SELECT * FROM targets WHERE list_contains({computed}, indicator) "
            "AND period_start <= {last} AND period_end >= {first} ORDER BY target_id",
            computed=values(computed), last=param(last), first=param(first)))
        existing = {int(r["target_id"]): r for r in db.rows(
            "SELECT target_id, value, origin FROM target_snapshots WHERE month = ?", [first])}
        written = 0
        for target in targets:
            old = existing.get(int(target["target_id"]))
            if old is not None and old["origin"] != AUTO:
                continue
            value = ledger_value(db, target, last)
            if old is not None and old["value"] == value:
                continue
            _write_snapshot(db, int(target["target_id"]), first, value, actor=actor,
                            note=None, origin=AUTO)
            written += 1
    return written


# --------------------------------------------------------------------------- reading

PROGRESS_COLUMNS = (
    "target_id", "name", "indicator", "indicator_label", "unit", "region_adcode",
    "region_name", "chain_id", "node_id", "owner", "base_year", "base_value",
    "target_value", "period_start", "period_end", "latest_month", "latest_value",
    "data_as_of", "progress", "time_progress", "behind", "gap", "remaining", "yoy",
    "required_growth")
_TARGETS = ("SELECT t.*, g.name AS region_name FROM targets t "
            "LEFT JOIN regions g ON g.adcode = t.region_adcode ORDER BY t.target_id")


def targets_frame(db: Database) -> pd.DataFrame:
    """Every target with its region's name and its indicator's Chinese name, by id."""
    frame = db.df(_TARGETS)
    frame.insert(3, "indicator_label",
                 [INDICATORS[k].label if k in INDICATORS else k for k in frame["indicator"]])
    return frame


def _float(value: Number | None) -> float | None:
    return None if value is None else float(value)


def assess(target: Mapping[str, Any], snapshots: Mapping[dt.date, Number],
           as_of: dt.date) -> dict[str, Any]:
    """One target's standing on ``as_of`` from its snapshots (month -> value) up to then.

    Pure. The latest snapshot is read as of its month's last day (``data_as_of``, at most
    ``as_of``), and time progress is taken on that day, so a month not yet recorded does
    not count against the target. ``gap`` is time progress minus progress (above 0:
    behind), ``remaining`` what is left to the target, ``yoy`` the latest value against
    the same month a year before (not for a rate indicator: its change is in points),
    ``required_growth`` the annual growth from base to target over the plan's years.
    A rate indicator (增速) is a level to hold rather than a way to cover: it is behind
    while its progress (current / target) is below 1, whatever the time progress.
    """
    indicator = INDICATORS[target["indicator"]]
    latest = max(snapshots) if snapshots else None
    value = None if latest is None else snapshots[latest]
    seen = as_of if latest is None else min(as_of, month_end(latest))
    done = progress(target["base_value"], target["target_value"], value, rate=indicator.rate)
    elapsed = time_progress(target["period_start"], target["period_end"], seen)
    before = None if latest is None else snapshots.get(latest.replace(year=latest.year - 1))
    years = plan_years(int(target["base_year"]), target["period_end"])
    row = {k: target.get(k) for k in PROGRESS_COLUMNS if k in target}
    # a rate (增速) is a level to hold, not a way to cover: it is behind below its target
    due = 1.0 if indicator.rate else elapsed
    return {**row, "indicator_label": indicator.label,
            "base_value": _float(target["base_value"]),
            "target_value": _float(target["target_value"]),
            "latest_month": latest, "latest_value": _float(value), "data_as_of": seen,
            "progress": done, "time_progress": elapsed,
            "behind": done is not None and done < due,
            "gap": None if done is None else due - done,
            "remaining": None if value is None or indicator.rate
            else float(target["target_value"]) - float(value),
            "yoy": None if indicator.rate else yoy(value, before),
            "required_growth": None if indicator.rate
            else cagr(target["base_value"], target["target_value"], years)}


def target_progress(db: Database, as_of: dt.date) -> pd.DataFrame:
    """Every target's standing on ``as_of`` (:func:`assess`), columns
    :data:`PROGRESS_COLUMNS`, by id."""
    snapshots: dict[int, dict[dt.date, Number]] = {}
    for row in db.rows("SELECT target_id, month, value FROM target_snapshots "
                       "WHERE month <= ? ORDER BY target_id, month", [as_of]):
        snapshots.setdefault(int(row["target_id"]), {})[row["month"]] = row["value"]
    rows = [assess(t, snapshots.get(int(t["target_id"]), {}), as_of)
            for t in db.rows(_TARGETS)]
    return pd.DataFrame(rows, columns=list(PROGRESS_COLUMNS))
