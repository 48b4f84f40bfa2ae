"""The project ledger: projects and their append-only events.

Every change of a project is one ``project_events`` row (who, when, which fields from →
to, why) written in the same transaction as the ``projects`` row it produces and the
audit line; replaying a project's events (:func:`replay`) gives its row back. A project's
``version`` is the number of its events: a write names the version it was based on, and a
write based on an old version is refused with a ConflictError listing what changed
since, so no change is ever silently lost.

Writes take an ``actor`` (a user name, or ``cli:<os user>``) and respect the actor's
scopes (:mod:`chainatlas.projects.scopes`); the web layer checks the role before.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chainatlas.errors import NotFoundError, ParameterError
from chainatlas.projects import fields, history, stages
from chainatlas.projects.codes import check_code
from chainatlas.projects.scopes import check_scope
from chainatlas.store import Database, audit

#: The columns of ``projects`` a write sets.
COLUMNS = ("project_id", *fields.EVENT_FIELDS, "version", "created_at", "updated_at")
_ORIGINS = ("manual", "import", "recommendation", "intake")


def get_project(db: Database, project_id: int) -> dict[str, Any]:
    """The current row of a project; NotFoundError when there is none."""
    rows = db.rows("SELECT * FROM projects WHERE project_id = ?", [int(project_id)])
    if not rows:
        raise NotFoundError(f"No project {project_id}.")
    return rows[0]


def _status(row: Mapping[str, Any]) -> stages.Status:
    return stages.Status(row["stage"], bool(row["paused"]), bool(row["ended"]))


def _next_event_id(db: Database) -> int:
    return int(db.scalar("SELECT coalesce(max(event_id), 0) + 1 FROM project_events"))


def _insert_event(db: Database, event_id: int, project_id: int, version: int, kind: str,
                  at: dt.datetime, effective: dt.date, actor: str,
                  changes: Mapping[str, tuple[Any, Any]], reason: str | None) -> None:
    db.execute("INSERT INTO project_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [event_id, project_id, version, kind, at, effective, actor,
                fields.changes_json(changes), (reason or "").strip() or None])


# The column names are this module's constants, never input: the values are bound.
_INSERT_ROW = (f"INSERT INTO projects ({', '.join(COLUMNS)}) "  # noqa: S608
               f"VALUES ({', '.join('?' for _ in COLUMNS)})")
_UPDATE_ROW = (f"UPDATE projects SET {', '.join(f'{c} = ?' for c in COLUMNS[1:])} "  # noqa: S608
               "WHERE project_id = ?")


def _insert_row(db: Database, row: Mapping[str, Any]) -> None:
    db.execute(_INSERT_ROW, [row.get(c) for c in COLUMNS])


def _update_row(db: Database, row: Mapping[str, Any]) -> None:
    db.execute(_UPDATE_ROW, [row.get(c) for c in COLUMNS[1:]] + [row["project_id"]])


def _check_unique_code(db: Database, code: str | None, project_id: int | None) -> None:
    if code is None:
        return
    other = db.scalar("SELECT project_id FROM projects WHERE code = ? AND project_id <> ?",
                      [code, project_id or 0])
    if other is not None:
        raise ParameterError(f"The project code {code} is already project {other}'s.")


def _new_row(db: Database, raw: Mapping[str, object], *, actor: str, stage: str,
             effective: dt.date, origin: str) -> dict[str, Any]:
    cleaned = fields.clean_fields(db, {k: v for k, v in raw.items() if k != "code"})
    if not cleaned.get("name"):
        raise ParameterError("A project needs a name (项目名称).")
    if not cleaned.get("region_adcode"):
        raise ParameterError("A project needs a region (所在地区).")
    cleaned["code"] = check_code(db, raw.get("code"))  # type: ignore[arg-type]
    stage_key = stages.stage_from_text(stage)
    row: dict[str, Any] = {f.name: cleaned.get(f.name) for f in fields.FIELDS}
    row["owner"] = row["owner"] or actor.removeprefix("cli:")
    date_field = fields.STAGE_DATES.get(stage_key)
    if date_field and row[date_field] is None:
        row[date_field] = effective
    row.update(stage=stage_key, stage_since=effective, paused=False, ended=False,
               origin=origin)
    return row


def create_project(db: Database, raw: Mapping[str, object], *, actor: str,
                   stage: str = "lead", effective: dt.date | None = None,
                   reason: str | None = None, origin: str = "manual") -> dict[str, Any]:
    """Add a project (at 线索 unless ``stage`` says otherwise); return its row."""
    return create_projects(db, [raw], actor=actor, stages_=[stage], effective=effective,
                           reason=reason, origin=origin, audit_each=True)[0]


def create_projects(db: Database, raws: Sequence[Mapping[str, object]], *, actor: str,
                    stages_: Sequence[str] | None = None, effective: dt.date | None = None,
                    reason: str | None = None, origin: str = "import",
                    audit_each: bool = False) -> list[dict[str, Any]]:
    """Add several projects in one transaction (an import: all or none).

    Each gets a ``create`` event; the audit log gets one line per project when
    ``audit_each``, else the caller records the batch (one ``project.import`` line).
    """
    if origin not in _ORIGINS:
        raise ParameterError(f"Unknown project origin {origin!r}.")
    day = effective or dt.date.today()
    at = audit.now_utc()
    created = []
    with db.transaction():
        pid = int(db.scalar("SELECT coalesce(max(project_id), 0) + 1 FROM projects"))
        eid = _next_event_id(db)
        for i, raw in enumerate(raws):
            stage = stages_[i] if stages_ is not None else "lead"
            row = _new_row(db, raw, actor=actor, stage=stage, effective=day, origin=origin)
            check_scope(db, actor, row["region_adcode"], row["park"])
            _check_unique_code(db, row["code"], None)
            row.update(project_id=pid + i, version=1, created_at=at, updated_at=at)
            changes = {k: (None, row[k]) for k in fields.EVENT_FIELDS
                       if row[k] is not None and row[k] is not False}
            _insert_event(db, eid + i, pid + i, 1, "create", at, day, actor, changes, reason)
            _insert_row(db, row)
            if audit_each:
                audit.record(db, actor, "project.create", f"project:{pid + i}", None,
                             history.public(row))
            created.append(row)
    return created


def _current(db: Database, project_id: int, expected: int | None) -> dict[str, Any]:
    """The project's row, refused (ConflictError) when it is past the version the writer
    read."""
    row = get_project(db, project_id)
    if expected is not None and int(expected) != int(row["version"]):
        history.refuse_stale(db, row, int(expected))
    return row


def _change(db: Database, row: Mapping[str, Any], new: Mapping[str, Any], *, actor: str,
            kind: str, reason: str | None, effective: dt.date | None) -> dict[str, Any]:
    """Append one event setting the fields ``new`` to the row read by :func:`_current`,
    and rewrite the row (the caller holds the transaction)."""
    project_id = int(row["project_id"])
    check_scope(db, actor, row["region_adcode"], row["park"])
    changes = {k: (row[k], value) for k, value in new.items()
               if not fields.same(row[k], value)}
    if not changes:
        raise ParameterError(f"Nothing to change: project {project_id} already has "
                             "these values.")
    new_row = {**row, **{k: value for k, (_, value) in changes.items()}}
    if "region_adcode" in changes or "park" in changes:
        check_scope(db, actor, new_row["region_adcode"], new_row["park"])
    at = audit.now_utc()
    new_row.update(version=int(row["version"]) + 1, updated_at=at)
    _insert_event(db, _next_event_id(db), project_id, new_row["version"], kind, at,
                  effective or dt.date.today(), actor, changes, reason)
    _update_row(db, new_row)
    audit.record(db, actor, f"project.{kind}", f"project:{project_id}",
                 {k: fields.encode(a) for k, (a, _) in changes.items()},
                 {k: fields.encode(b) for k, (_, b) in changes.items()})
    return new_row


def move_project(db: Database, project_id: int, stage: str, *, actor: str,
                 expected_version: int | None, reason: str | None = None,
                 effective: dt.date | None = None) -> dict[str, Any]:
    """Move a project to another stage (the stage rules: :mod:`stages`)."""
    with db.transaction():
        row = _current(db, project_id, expected_version)
        target = stages.check_move(_status(row), stage, reason)
        day = effective or dt.date.today()
        new: dict[str, Any] = {"stage": target, "stage_since": day}
        date_field = fields.STAGE_DATES.get(target)
        if date_field and row[date_field] is None:
            new[date_field] = day
        return _change(db, row, new, actor=actor, kind="move", reason=reason, effective=day)


def update_project(db: Database, project_id: int, raw: Mapping[str, object], *,
                   actor: str, expected_version: int | None,
                   reason: str | None = None) -> dict[str, Any]:
    """Change a project's fields (not its stage: :func:`move_project`)."""
    with db.transaction():
        row = _current(db, project_id, expected_version)
        stages.check_edit(_status(row))
        context = {"chain_id": raw.get("chain_id", row["chain_id"])}
        cleaned = fields.clean_fields(db, {k: v for k, v in raw.items() if k != "code"},
                                      context)
        if "code" in raw:
            cleaned["code"] = check_code(db, raw["code"])  # type: ignore[arg-type]
            _check_unique_code(db, cleaned["code"], int(project_id))
        if "chain_id" in cleaned and cleaned["chain_id"] != row["chain_id"] \
                and "node_id" not in cleaned:
            cleaned["node_id"] = None  # a node belongs to its chain
        if not cleaned.get("name", row["name"]):
            raise ParameterError("A project needs a name (项目名称).")
        return _change(db, row, cleaned, actor=actor, kind="update", reason=reason,
                       effective=None)


def _flag(db: Database, project_id: int, kind: str, *, actor: str,
          expected_version: int | None, reason: str | None) -> dict[str, Any]:
    checks = {"pause": stages.check_pause, "resume": stages.check_resume,
              "end": stages.check_end}
    values = {"pause": ("paused", True), "resume": ("paused", False), "end": ("ended", True)}
    with db.transaction():
        row = _current(db, project_id, expected_version)
        checks[kind](_status(row), reason)
        column, value = values[kind]
        return _change(db, row, {column: value}, actor=actor, kind=kind, reason=reason,
                       effective=None)


def pause_project(db: Database, project_id: int, *, actor: str,
                  expected_version: int | None, reason: str | None) -> dict[str, Any]:
    """Pause a project (暂停): it keeps its stage."""
    return _flag(db, project_id, "pause", actor=actor, expected_version=expected_version,
                 reason=reason)


def resume_project(db: Database, project_id: int, *, actor: str,
                   expected_version: int | None, reason: str | None) -> dict[str, Any]:
    """Resume a paused project where it stopped."""
    return _flag(db, project_id, "resume", actor=actor, expected_version=expected_version,
                 reason=reason)


def end_project(db: Database, project_id: int, *, actor: str,
                expected_version: int | None, reason: str | None) -> dict[str, Any]:
    """End a project (终止): nothing changes it afterwards."""
    return _flag(db, project_id, "end", actor=actor, expected_version=expected_version,
                 reason=reason)


def project_events(db: Database, project_id: int) -> list[dict[str, Any]]:
    """A project's events, oldest first, ``changes`` decoded ({field: [from, to]})."""
    get_project(db, project_id)
    rows = db.rows("SELECT * FROM project_events WHERE project_id = ? ORDER BY version",
                   [int(project_id)])
    for row in rows:
        row["changes"] = json.loads(row["changes"])
    return rows


def replay(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The row a project's events produce (pure): what ``projects`` must hold."""
    row: dict[str, Any] = {name: None for name in fields.EVENT_FIELDS}
    count = 0
    for event in events:
        changes = event["changes"]
        if isinstance(changes, str):
            changes = json.loads(changes)
        for name, (_, new) in changes.items():
            row[name] = fields.decode(name, new)
        row["project_id"] = event["project_id"]
        row["created_at"] = row.get("created_at") or event["at"]
        row["updated_at"] = event["at"]
        count += 1
    row["paused"] = bool(row["paused"])
    row["ended"] = bool(row["ended"])
    row["version"] = count
    return row
