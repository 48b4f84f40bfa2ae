"""The audit log: who changed what in the store, when, and the row before and after.

Every write of the store that a person asks for (a correction, a user or token change, a
roster import) calls :func:`record` inside its own transaction, so the log line and the
change are stored together or not at all. The signature is deliberately plain::

    from chainatlas.store.audit import record
    with db.transaction():
        ...  # the change
        record(db, actor, "roster.import", "roster.xlsx", before=None,
               after={"rows": 120, "source_id": 7})

``actor`` is a user name, the name of a token's user, or ``cli:<os user>``
(:func:`cli_actor`) for the command line. ``before`` and ``after`` are JSON-able
mappings (or None when there is no such row); dates and other values are stored as their
string form. Never pass secrets (password hashes, tokens) in them.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Mapping
from typing import Any

from chainatlas.store.database import Database
from chainatlas.store.query import Q, compose, join, param

#: The actions the library records (imports may add their own ``<area>.<verb>`` names).
ACTIONS = ("correction.add", "user.add", "user.password", "user.role", "user.disable",
           "user.enable", "token.issue", "token.revoke", "roster.import", "auth.sign_in",
           "auth.lockout", "auth.sign_out")
DEFAULT_LIMIT = 100


def now_utc() -> dt.datetime:
    """The current UTC time as the naive timestamp every store table keeps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def cli_actor() -> str:
    """The actor of a command-line write: ``cli:<os user>``."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): still say it was the CLI
        name = "unknown"
    return f"cli:{name}"


def _as_json(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    # sort_keys: the same change always reads the same; default=str covers dates.
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True, default=str)


def record(db: Database, actor: str, action: str, target: str,
           before: Mapping[str, Any] | None = None,
           after: Mapping[str, Any] | None = None) -> int:
    """Append one line to the audit log (inside the caller's transaction); return its id."""
    if not actor or not action or not target:
        raise ValueError("an audit line needs an actor, an action and a target")
    with db.transaction():  # joins the caller's transaction; its own when there is none
        next_id = int(db.scalar("SELECT coalesce(max(id), 0) + 1 FROM audit_log"))
        db.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [next_id, now_utc(), actor, action, target, _as_json(before),
                    _as_json(after)])
    return next_id


def audit_rows(db: Database, *, since: dt.datetime | None = None,
               limit: int = DEFAULT_LIMIT, actor: str | None = None,
               action: str | None = None) -> list[dict[str, Any]]:
    """The newest audit lines first, ``before``/``after`` decoded from JSON.

    ``since`` (UTC) keeps lines at or after it; ``actor`` and ``action`` keep exact matches.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    conditions: list[Q] = []
    if since is not None:
        conditions.append(Q('"at" >= ?', (since,)))
    if actor is not None:
        conditions.append(Q("actor = ?", (actor,)))
    if action is not None:
        conditions.append(Q("action = ?", (action,)))
    rows = db.rows(compose('SELECT id, "at", actor, action, target, "before", "after" '
                           "FROM audit_log WHERE {where} ORDER BY id DESC LIMIT {limit}",
                           where=join(conditions), limit=param(limit)))
    for row in rows:
        for key in ("before", "after"):
            row[key] = None if row[key] is None else json.loads(row[key])
    return rows

