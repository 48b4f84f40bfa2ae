"""A project's history as people read it: the changes since a version, conflict messages.

When two people edit one project, the second write names the version it read; if the
project has moved on, :func:`refuse_stale` refuses the write with the other changes listed
(who, when, which fields from → to), so the second person redoes the change with them in
view rather than overwriting them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chainatlas.errors import ConflictError
from chainatlas.projects import fields
from chainatlas.store import Database


def public(row: Mapping[str, Any]) -> dict[str, Any]:
    """A project row as JSON-able values (decimals and dates as text)."""
    return {k: fields.encode(v) for k, v in row.items()}


def changes_since(db: Database, project_id: int, version: int) -> list[dict[str, Any]]:
    """The events of a project after ``version``: version, kind, at, actor, changes, reason."""
    rows = db.rows("SELECT version, kind, \"at\", actor, changes, reason FROM project_events "
                   "WHERE project_id = ? AND version > ? ORDER BY version",
                   [int(project_id), int(version)])
    for row in rows:
        row["changes"] = json.loads(row["changes"])
        row["at"] = row["at"].isoformat(timespec="seconds")
    return rows


def describe(change: Mapping[str, Any]) -> str:
    """One event in a line: "v3 张三 2026-12-03T10:00:00 move: stage signed → started"."""
    parts = [f"{fields.BY_NAME[k].label if k in fields.BY_NAME else k} "
             f"{_shown(a)} → {_shown(b)}" for k, (a, b) in change["changes"].items()]
    why = f" ({change['reason']})" if change.get("reason") else ""
    return (f"v{change['version']} {change['actor']} {change['at']} {change['kind']}: "
            f"{'; '.join(parts)}{why}")


def _shown(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


def refuse_stale(db: Database, row: Mapping[str, Any], expected: int) -> None:
    """Raise the ConflictError of a write based on ``expected`` when ``row`` is newer."""
    changes = changes_since(db, int(row["project_id"]), expected)
    lines = "\n".join(f"  {describe(c)}" for c in changes)
    raise ConflictError(
        f"Project {row['project_id']} ({row['name']}) is at version {row['version']}, not "
        f"{expected}: it was changed meanwhile, so this change was not saved. Changes since "
        f"version {expected}:\n{lines}\nReload the project and apply the change again.",
        changes)
