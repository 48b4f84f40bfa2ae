"""Users, roles and API tokens of a store.

Roles rank ``viewer`` (reads) < ``analyst`` (corrections, imports) < ``admin`` (users,
settings). Passwords are kept only as argon2 hashes (argon2-cffi); API tokens only as
their sha256, so a copy of the store gives neither. Every change is written to the
audit log (:mod:`chainatlas.store.audit`) in the same transaction, without hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chainatlas.errors import ChainAtlasError, NotFoundError
from chainatlas.store.audit import now_utc, record
from chainatlas.store.database import Database
from chainatlas.store.query import compose, ident, param

ROLES = ("viewer", "analyst", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
MIN_PASSWORD = 8
#: Hashing a megabyte-long password would let a sign-in form burn CPU; none is that long.
MAX_PASSWORD = 256
MAX_NAME = 64
TOKEN_PREFIX = "cat_"

_hasher = PasswordHasher()  # argon2id with the library's maintained default costs
_dummy: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash verified against when the user is unknown, so an unknown name costs as long
    as a wrong password and the timing does not tell which names exist. Made on first
    use: hashing takes a few hundred milliseconds, not to be paid at import."""
    if "hash" not in _dummy:
        _dummy["hash"] = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy["hash"]


@dataclass(frozen=True)
class User:
    """A signed-in (or token-holding) user: name and role.

    ``stamp`` is the user row's ``updated_at`` as text when read from the store ("" when
    not): a session cookie carries the stamp of sign-in and is honoured only while the row
    still has it, so any change of the user (password, role, disabled) ends the sessions.
    """

    name: str
    role: str
    stamp: str = field(default="", compare=False)

    def can(self, role: str) -> bool:
        """Whether this user holds ``role`` or a higher one."""
        return ROLE_RANK[self.role] >= ROLE_RANK[check_role(role)]


def check_role(role: str) -> str:
    """The role, or a clean error naming the roles."""
    if role not in ROLE_RANK:
        raise ChainAtlasError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    return role


def check_name(name: str) -> str:
    """A user name: 1-64 printable characters without spaces or ':' (kept for actors such
    as 'cli:<os user>')."""
    if not name or len(name) > MAX_NAME or not name.isprintable() \
            or any(ch.isspace() or ch == ":" for ch in name):
        raise ChainAtlasError(
            f"Invalid user name {name!r}: 1-{MAX_NAME} characters, no spaces and no ':'.")
    return name


def check_password(password: str, name: str = "") -> str:
    """Refuse an empty, short, over-long or name-equal password with a clean message."""
    if not password.strip():
        raise ChainAtlasError("The password is empty.")
    if len(password) < MIN_PASSWORD:
        raise ChainAtlasError(f"The password is too weak: use at least {MIN_PASSWORD} "
                              "characters.")
    if len(password) > MAX_PASSWORD:
        raise ChainAtlasError(f"The password is longer than {MAX_PASSWORD} characters.")
    if name and password.casefold() == name.casefold():
        raise ChainAtlasError("The password is too weak: it must differ from the user name.")
    return password


def _user_row(db: Database, name: str) -> dict[str, Any] | None:
    rows = db.rows("SELECT name, role, disabled, created_at, updated_at FROM users "
                   "WHERE name = ?", [name])
    return rows[0] if rows else None


def _update(db: Database, name: str, column: str, value: Any) -> None:
    """Set one column of a user row and move its ``updated_at`` forward, by at least a
    microsecond even when the clock stands still or steps back: sessions are bound to
    that stamp (:class:`User`), so every change of a user ends their sessions."""
    db.execute(compose("UPDATE users SET {column} = {value}, updated_at = greatest({now}, "
                       "updated_at + INTERVAL 1 MICROSECOND) WHERE name = {name}",
                       column=ident(column), value=param(value), now=param(now_utc()),
                       name=param(name)))


def _stamp(updated_at: Any) -> str:
    """The text form of an ``updated_at`` value that sessions are bound to."""
    return updated_at.isoformat() if isinstance(updated_at, dt.datetime) else str(updated_at)


def _existing(db: Database, name: str) -> dict[str, Any]:
    row = _user_row(db, name)
    if row is None:
        raise NotFoundError(f"No user {name!r}. 'chainatlas users list' shows the users.")
    return row


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A user row as the audit log and listings show it: never the hash."""
    return {"name": row["name"], "role": row["role"], "disabled": bool(row["disabled"])}


def add_user(db: Database, name: str, role: str, password: str, *, actor: str) -> User:
    """Create a user; a clean error for a taken name, an unknown role or a weak password."""
    check_name(name)
    check_role(role)
    check_password(password, name)
    digest = _hasher.hash(password)  # slow (~50 ms): outside the write transaction
    with db.transaction():
        if _user_row(db, name) is not None:
            raise ChainAtlasError(f"The user {name!r} already exists.")
        now = now_utc()
        db.execute("INSERT INTO users VALUES (?, ?, ?, false, ?, ?)",
                   [name, role, digest, now, now])
        record(db, actor, "user.add", f"user:{name}", None,
               {"name": name, "role": role, "disabled": False})
    return User(name, role)


def set_password(db: Database, name: str, password: str, *, actor: str) -> None:
    """Replace a user's password (the log says it changed, not what to).

    Ends every session of the user (their cookies are bound to ``updated_at``: see
    :class:`User`). The user's API tokens are kept, on purpose: a token is a separate
    credential, issued and revoked one by one from the command line (``users token``,
    ``users revoke``), never obtainable through the web sign-in, so a password someone
    else learnt gave them no token to take back; revoking every script's token on each
    password change would only teach people to avoid changing passwords. A suspected
    token leak is answered by ``users revoke``; ``users disable`` stops tokens too.
    """
    check_password(password, name)
    digest = _hasher.hash(password)
    with db.transaction():
        row = _existing(db, name)
        _update(db, name, "password_hash", digest)
        record(db, actor, "user.password", f"user:{name}", _public(row), _public(row))


def end_sessions(db: Database, name: str, *, actor: str) -> None:
    """Sign a user out everywhere (the web app's logout): moving ``updated_at`` forward
    ends every session cookie bound to it, a copied one or an open page's included.
    Every browser of the user is signed out, not just the one that asked: the server keeps
    no per-session state to tell them apart, and a logout that leaves copies valid would
    not be one. Tokens are untouched (see :func:`set_password`)."""
    with db.transaction():
        row = _existing(db, name)
        _update(db, name, "disabled", row["disabled"])  # the column as it is: only the stamp
        record(db, actor, "auth.sign_out", f"user:{name}", None, None)


def set_role(db: Database, name: str, role: str, *, actor: str) -> None:
    """Give a user another role. Ends the user's sessions (they sign in again under the
    new role); tokens are kept and act with the new role at once, since a token's role is
    read from the user row on every use (:func:`user_from_token`)."""
    check_role(role)
    with db.transaction():
        row = _existing(db, name)
        _update(db, name, "role", role)
        record(db, actor, "user.role", f"user:{name}", _public(row),
               {**_public(row), "role": role})


def disable_user(db: Database, name: str, *, actor: str, disabled: bool = True) -> None:
    """Disable (or, with ``disabled=False``, re-enable) a user: no sign-in, no tokens."""
    with db.transaction():
        row = _existing(db, name)
        _update(db, name, "disabled", disabled)
        record(db, actor, "user.disable" if disabled else "user.enable", f"user:{name}",
               _public(row), {**_public(row), "disabled": disabled})


def list_users(db: Database) -> list[dict[str, Any]]:
    """Every user (name, role, disabled, created_at, active tokens), by name."""
    return db.rows(
        "SELECT u.name, u.role, u.disabled, u.created_at, count(t.token_id) AS tokens "
        "FROM users u LEFT JOIN api_tokens t ON t.user_name = u.name "
        "AND t.revoked_at IS NULL GROUP BY ALL ORDER BY u.name")


def user_count(db: Database, *, enabled_only: bool = True) -> int:
    """How many users exist (enabled ones only by default)."""
    return int(db.scalar("SELECT count(*) FROM users WHERE NOT (disabled AND ?)",
                         [enabled_only]))


def get_user(db: Database, name: str) -> User | None:
    """The enabled user of this name, or None."""
    row = _user_row(db, name)
    if row is None or row["disabled"]:
        return None
    return User(str(row["name"]), str(row["role"]), _stamp(row["updated_at"]))


def verify_password(db: Database, name: str, password: str) -> User | None:
    """The user when ``password`` is theirs and they are enabled; None otherwise."""
    found = db.execute("SELECT role, password_hash, disabled, updated_at FROM users "
                       "WHERE name = ?", [name]).fetchone()
    digest = str(found[1]) if found else _dummy_hash()
    try:
        _hasher.verify(digest, password[:MAX_PASSWORD + 1])
    except (VerificationError, InvalidHashError):
        return None
    if found is None or found[2]:
        return None
    return User(name, str(found[0]), _stamp(found[3]))


def token_digest(token: str) -> str:
    """The sha256 under which a token is kept."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(db: Database, name: str, label: str | None = None, *, actor: str) -> str:
    """Make an API token for an enabled user and return it: it is shown this once only."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction():
        row = _existing(db, name)
        if row["disabled"]:
            raise ChainAtlasError(f"The user {name!r} is disabled.")
        token_id = int(db.scalar("SELECT coalesce(max(token_id), 0) + 1 FROM api_tokens"))
        db.execute("INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, NULL)",
                   [token_id, token_digest(token), name, label, now_utc()])
        record(db, actor, "token.issue", f"token:{token_id}", None,
               {"token_id": token_id, "user": name, "label": label})
    return token


def revoke_token(db: Database, token_id: int, *, actor: str) -> None:
    """Revoke a token by its id (``users list --tokens`` shows them)."""
    with db.transaction():
        rows = db.rows("SELECT token_id, user_name, label, revoked_at FROM api_tokens "
                       "WHERE token_id = ?", [token_id])
        if not rows or rows[0]["revoked_at"] is not None:
            raise NotFoundError(f"No active token {token_id}.")
        db.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?",
                   [now_utc(), token_id])
        before = {"token_id": token_id, "user": rows[0]["user_name"],
                  "label": rows[0]["label"]}
        record(db, actor, "token.revoke", f"token:{token_id}", before,
               {**before, "revoked": True})


def list_tokens(db: Database, name: str | None = None) -> list[dict[str, Any]]:
    """Active tokens (id, user, label, created_at), never their hashes."""
    return db.rows("SELECT token_id, user_name, label, created_at FROM api_tokens "
                   "WHERE revoked_at IS NULL AND (user_name = ? OR ? IS NULL) "
                   "ORDER BY token_id", [name, name])


def user_from_token(db: Database, token: str) -> User | None:
    """The enabled user an active token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    # Looked up by digest: the token itself is never compared or stored.
    found = db.execute(
        "SELECT u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name "
        "WHERE t.token_sha256 = ? AND t.revoked_at IS NULL AND NOT u.disabled",
        [token_digest(token)]).fetchone()
    return None if found is None else User(str(found[0]), str(found[1]))
