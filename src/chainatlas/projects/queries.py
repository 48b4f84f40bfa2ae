"""Reading the ledger: the filtered project table and the figures a leader asks for.

"48 projects worth 21.5 bn yuan" is :func:`ledger_kpis`; the counts and amounts per stage,
per chain and per park are :func:`ledger_breakdown`. All of it is SQL over ``projects``
(one query per figure set), so it stays fast at tens of thousands of projects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from chainatlas.errors import ParameterError
from chainatlas.projects import stages
from chainatlas.store import Database
from chainatlas.store.query import TRUE, Q, adcode_prefix, compose, join, param


@dataclass(frozen=True)
class ProjectFilters:
    """Which projects a table or figure counts (every field optional)."""

    region: str | None = None  # an adcode: the region and its subdivisions
    chain_id: str | None = None
    node_id: str | None = None
    stage: str | None = None
    park: str | None = None
    owner: str | None = None
    search: str | None = None  # in the name, the investor or the code
    include_ended: bool = False
    paused: bool | None = None


def region_clause(adcode: str, alias: str = "p") -> Q:
    """Projects in a region or its subdivisions (province 2-digit prefix, city 4-digit)."""
    if not (len(adcode) == 6 and adcode.isdigit()):
        raise ParameterError(f"Not a region code: {adcode!r}.")
    return Q(f"starts_with({alias}.region_adcode, ?)", (adcode_prefix(adcode),))


def filter_clause(filters: ProjectFilters, alias: str = "p") -> Q:
    """The WHERE clause of ``filters`` (values bound)."""
    parts: list[Q] = [TRUE]
    if filters.region:
        parts.append(region_clause(filters.region, alias))
    for column, value in (("chain_id", filters.chain_id), ("node_id", filters.node_id),
                          ("park", filters.park), ("owner", filters.owner)):
        if value:
            parts.append(Q(f"{alias}.{column} = ?", (value,)))
    if filters.stage:
        parts.append(Q(f"{alias}.stage = ?", (stages.stage_from_text(filters.stage),)))
    if not filters.include_ended:
        parts.append(Q(f"NOT {alias}.ended"))
    if filters.paused is not None:
        parts.append(Q(f"{alias}.paused = ?", (filters.paused,)))
    if filters.search:
        like = f"%{filters.search.strip()}%"
        parts.append(Q(f"({alias}.name ILIKE ? OR {alias}.investor_name ILIKE ? "
                       f"OR {alias}.code ILIKE ?)", (like, like, like)))
    return join(parts)


_STAGE_ORDER = Q("CASE p.stage " + " ".join(
    f"WHEN '{s}' THEN {i}" for i, s in enumerate(stages.STAGES)) + " END")


def projects_frame(db: Database, filters: ProjectFilters | None = None, *,
                   limit: int | None = None) -> pd.DataFrame:
    """The projects ``filters`` keep, with region, chain and node names, newest first."""
    query = compose(
        "SELECT p.*, r.name AS region_name, c.name_zh AS chain_name, "
        "n.name_zh AS node_name FROM projects p "
        "LEFT JOIN regions r ON r.adcode = p.region_adcode "
        "LEFT JOIN chains c ON c.chain_id = p.chain_id "
        "LEFT JOIN chain_nodes n ON n.chain_id = p.chain_id AND n.node_id = p.node_id "
        "WHERE {where} ORDER BY p.updated_at DESC, p.project_id DESC{limit}",
        where=filter_clause(filters or ProjectFilters()),
        limit=Q(" LIMIT ?", (int(limit),)) if limit else Q(""))
    return db.df(query.text, list(query.params))


_AMOUNTS = ("coalesce(sum(p.agreed_wan), 0) AS agreed_wan, "
            "coalesce(sum(p.planned_year_wan), 0) AS planned_year_wan, "
            "coalesce(sum(p.completed_wan), 0) AS completed_wan, "
            "coalesce(sum(p.in_place_wan), 0) AS in_place_wan")


def ledger_kpis(db: Database, filters: ProjectFilters | None = None) -> dict[str, Any]:
    """The headline figures: projects, their agreed, planned, completed and in-place
    amounts (万元), and how many are signed or later, paused, started, producing."""
    signed = stages.stage_rank("signed")
    query = compose(
        "SELECT count(*) AS projects, " + _AMOUNTS + ", "
        "count(*) FILTER (WHERE {order} >= {signed}) AS signed_or_later, "
        "coalesce(sum(p.agreed_wan) FILTER (WHERE {order} >= {signed}), 0) AS signed_wan, "
        "count(*) FILTER (WHERE p.paused) AS paused, "
        "count(*) FILTER (WHERE p.stage = 'started') AS started, "
        "count(*) FILTER (WHERE p.stage = 'producing') AS producing "
        "FROM projects p WHERE {where}",
        order=_STAGE_ORDER, signed=param(signed),
        where=filter_clause(filters or ProjectFilters()))
    return db.rows(query.text, list(query.params))[0]


_GROUPS = {"stage": ("p.stage", "p.stage"),
           "chain": ("p.chain_id", "coalesce(any_value(c.name_zh), '未归链')"),
           "park": ("p.park", "coalesce(p.park, '未填园区')"),
           "region": ("p.region_adcode", "any_value(r.name)")}


def ledger_breakdown(db: Database, by: str,
                     filters: ProjectFilters | None = None) -> pd.DataFrame:
    """Counts and amounts per stage, chain, park or region (``by``)."""
    if by not in _GROUPS:
        raise ParameterError(f"Cannot break the ledger down by {by!r}: use "
                             f"{', '.join(_GROUPS)}.")
    key, label = _GROUPS[by]
    order = "min(" + _STAGE_ORDER.text + ")" if by == "stage" else "count(*) DESC"
    query = compose(
        f"SELECT {key} AS key, {label} AS label, count(*) AS projects, " + _AMOUNTS + " "
        "FROM projects p LEFT JOIN chains c ON c.chain_id = p.chain_id "
        "LEFT JOIN regions r ON r.adcode = p.region_adcode "
        f"WHERE {{where}} GROUP BY {key} ORDER BY {order}, 1",
        where=filter_clause(filters or ProjectFilters()))
    frame = db.df(query.text, list(query.params))
    if by == "stage":
        frame["label"] = [stages.STAGE_LABELS.get(k, k) for k in frame["key"]]
    return frame
