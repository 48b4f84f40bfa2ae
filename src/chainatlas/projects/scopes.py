"""Where an analyst may write the ledger: a region and its subdivisions, or one park of it.

An analyst with no scope rows writes anywhere (a city bureau's staff); one with rows writes
only projects inside one of them: an analyst of 鹿泉区 (130110) edits 鹿泉区's projects, an
analyst of 石家庄市 (130100) every district of the city, and a scope naming a park only
that park's projects in that region. The command line is the store's owner and has no
scope (its actor is ``cli:<os user>``). Reading is never limited: every analyst sees the
whole ledger, as the bureaus share theirs.
"""

from __future__ import annotations

from typing import Any

from chainatlas.errors import ForbiddenError, ParameterError
from chainatlas.store import Database, audit
from chainatlas.store.lookup import as_region
from chainatlas.store.query import adcode_prefix


def region_within(adcode: str, scope_adcode: str) -> bool:
    """Whether the region ``adcode`` lies in the scope's region (the region itself, or a
    subdivision: the province's 2-digit prefix, the city's 4-digit prefix)."""
    return adcode.startswith(adcode_prefix(scope_adcode))


def user_scopes(db: Database, user: str) -> list[dict[str, Any]]:
    """The scopes of a user (empty: no limit)."""
    return db.rows("SELECT region_adcode, park FROM user_scopes WHERE user_name = ? "
                   "ORDER BY region_adcode, park", [user])


def in_scope(scopes: list[dict[str, Any]], adcode: str, park: str | None) -> bool:
    """Whether a project at (``adcode``, ``park``) is inside one of ``scopes``."""
    if not scopes:
        return True
    return any(region_within(adcode, s["region_adcode"])
               and (not s["park"] or s["park"] == (park or "")) for s in scopes)


def check_scope(db: Database, actor: str, adcode: str, park: str | None) -> None:
    """Refuse (ForbiddenError) a write by ``actor`` outside the actor's scopes."""
    if actor.startswith("cli:"):
        return
    scopes = user_scopes(db, actor)
    if in_scope(scopes, adcode, park):
        return
    names = "、".join(_scope_name(db, s) for s in scopes)
    raise ForbiddenError(f"{actor} may change projects of {names} only; this project is "
                         f"in {_region_name(db, adcode)}{' ' + park if park else ''}.")


def _region_name(db: Database, adcode: str) -> str:
    name = db.scalar("SELECT name FROM regions WHERE adcode = ?", [adcode])
    return f"{name} ({adcode})" if name else adcode


def _scope_name(db: Database, scope: dict[str, Any]) -> str:
    region = _region_name(db, scope["region_adcode"])
    return f"{region} {scope['park']}" if scope["park"] else region


def add_scope(db: Database, user: str, region: str, park: str | None = None, *,
              actor: str) -> dict[str, str]:
    """Limit ``user`` to a region (and park); a user with several scopes writes in any."""
    if not db.scalar("SELECT count(*) FROM users WHERE name = ?", [user]):
        raise ParameterError(f"No user {user!r}.")
    row = {"user_name": user, "region_adcode": as_region(db, region).adcode,
           "park": (park or "").strip()}
    with db.transaction():
        db.execute("INSERT OR REPLACE INTO user_scopes VALUES (?, ?, ?)",
                   [row["user_name"], row["region_adcode"], row["park"]])
        audit.record(db, actor, "user.scope_add", user, None, row)
    return row


def remove_scope(db: Database, user: str, region: str, park: str | None = None, *,
                 actor: str) -> None:
    """Lift one scope of ``user`` (the last one lifted: no limit)."""
    row = {"user_name": user, "region_adcode": as_region(db, region).adcode,
           "park": (park or "").strip()}
    with db.transaction():
        found = db.scalar("SELECT count(*) FROM user_scopes WHERE user_name = ? AND "
                          "region_adcode = ? AND park = ?", list(row.values()))
        if not found:
            raise ParameterError(f"{user} has no such scope.")
        db.execute("DELETE FROM user_scopes WHERE user_name = ? AND region_adcode = ? "
                   "AND park = ?", list(row.values()))
        audit.record(db, actor, "user.scope_remove", user, row, None)
