"""Users, roles, passwords and API tokens (store/users.py) and the ``users`` commands."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chainatlas.cli_users import audit_command, users_app
from chainatlas.errors import ChainAtlasError, NotFoundError, StoreError
from chainatlas.store import Database
from chainatlas.store import users as users_mod
from chainatlas.store.audit import audit_rows
from chainatlas.store.users import (
    ROLES,
    User,
    add_user,
    disable_user,
    get_user,
    issue_token,
    list_tokens,
    list_users,
    revoke_token,
    set_password,
    set_role,
    user_count,
    user_from_token,
    verify_password,
)

PASSWORD = "correct horse battery"


pytestmark = pytest.mark.usefixtures("fast_hashing")  # cheap argon2 costs (conftest)


@pytest.fixture(autouse=True)
def fresh_dummy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The dummy hash unknown names are checked against, made anew at the cheap costs."""
    monkeypatch.setattr(users_mod, "_dummy", {})
    yield


def test_passwords_are_stored_as_argon2_hashes_only(db: Database) -> None:
    add_user(db, "wang", "analyst", PASSWORD, actor="test")
    stored = db.scalar("SELECT password_hash FROM users WHERE name = 'wang'")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(db, "wang", PASSWORD) == User("wang", "analyst")
    assert verify_password(db, "wang", PASSWORD + "x") is None
    assert verify_password(db, "nobody", PASSWORD) is None


def test_the_default_hasher_is_argon2id() -> None:
    assert PasswordHasher().hash("x" * 8).startswith("$argon2id$")


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl",
                                                                 "Zp", "Co", "Cn", "Cf")),
                min_size=1, max_size=64).filter(
    lambda s: ":" not in s and s.isprintable() and not any(c.isspace() for c in s))
passwords = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)),
                    min_size=8, max_size=256).filter(lambda s: bool(s.strip()))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, password=passwords, other=passwords)
def test_hashing_round_trip(name: str, password: str, other: str) -> None:
    if password.casefold() == name.casefold():
        return  # refused as weak: tested below
    store = Database()
    add_user(store, name, "viewer", password, actor="test")
    assert verify_password(store, name, password) == User(name, "viewer")
    if other != password:
        assert verify_password(store, name, other) is None
    stored = str(store.scalar("SELECT password_hash FROM users"))
    assert password not in stored.split("$")[-1:]  # the hash, not the password


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("wang", "viewer", "", "empty"), ("wang", "viewer", "   \t  ", "empty"),
    ("wang", "viewer", "short", "too weak"), ("wangwei1", "viewer", "WANGWEI1", "too weak"),
    ("wang", "viewer", "x" * 257, "longer"), ("wang", "boss", PASSWORD, "Unknown role"),
    ("", "viewer", PASSWORD, "Invalid user name"), ("a b", "viewer", PASSWORD, "Invalid"),
    ("cli:x", "viewer", PASSWORD, "Invalid"), ("x" * 65, "viewer", PASSWORD, "Invalid")])
def test_bad_users_are_refused_cleanly(db: Database, name: str, role: str, password: str,
                                       message: str) -> None:
    with pytest.raises(ChainAtlasError, match=message):
        add_user(db, name, role, password, actor="test")
    assert user_count(db) == 0


def test_duplicate_and_unknown_users(db: Database) -> None:
    add_user(db, "王伟", "admin", PASSWORD, actor="test")
    with pytest.raises(ChainAtlasError, match="already exists"):
        add_user(db, "王伟", "viewer", PASSWORD, actor="test")
    for change in (lambda: disable_user(db, "nobody", actor="t"),
                   lambda: set_password(db, "nobody", PASSWORD, actor="t"),
                   lambda: issue_token(db, "nobody", actor="t")):
        with pytest.raises(NotFoundError, match="No user"):
            change()


def test_roles_rank() -> None:
    assert ROLES == ("viewer", "analyst", "admin")
    admin, analyst, viewer = User("a", "admin"), User("b", "analyst"), User("c", "viewer")
    assert admin.can("analyst") and admin.can("viewer") and analyst.can("analyst")
    assert not analyst.can("admin") and not viewer.can("analyst")
    with pytest.raises(ChainAtlasError, match="Unknown role"):
        viewer.can("root")


def test_tokens_are_kept_as_sha256_and_stop_with_revoke_or_disable(db: Database) -> None:
    add_user(db, "bot", "analyst", PASSWORD, actor="test")
    token = issue_token(db, "bot", "nightly", actor="test")
    assert token not in str(db.rows("SELECT * FROM api_tokens"))
    assert db.scalar("SELECT token_sha256 FROM api_tokens") == users_mod.token_digest(token)
    assert user_from_token(db, token) == User("bot", "analyst")
    assert user_from_token(db, token + "x") is None and user_from_token(db, "") is None
    second = issue_token(db, "bot", actor="test")
    revoke_token(db, int(list_tokens(db)[0]["token_id"]), actor="test")
    assert user_from_token(db, token) is None and user_from_token(db, second) is not None
    with pytest.raises(NotFoundError):
        revoke_token(db, 1, actor="test")
    disable_user(db, "bot", actor="test")
    assert user_from_token(db, second) is None
    assert verify_password(db, "bot", PASSWORD) is None
    with pytest.raises(ChainAtlasError, match="disabled"):
        issue_token(db, "bot", actor="test")


def test_password_and_role_changes(db: Database) -> None:
    add_user(db, "li", "viewer", PASSWORD, actor="test")
    set_password(db, "li", "another good one", actor="test")
    set_role(db, "li", "analyst", actor="test")
    assert verify_password(db, "li", PASSWORD) is None
    assert verify_password(db, "li", "another good one") == User("li", "analyst")
    disable_user(db, "li", actor="test", disabled=False)
    assert [u["name"] for u in list_users(db)] == ["li"] and user_count(db) == 1


# -- the command line -------------------------------------------------------------------


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(users_app, name="users")
    app.command("audit")(audit_command)
    return app


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """An empty store file (the commands refuse to create one)."""
    path = tmp_path / "users.duckdb"
    Database(path).close()
    return path


def _run(store: Path, *args: str, stdin: str | None = None) -> tuple[int, str, BaseException
                                                                         | None]:
    result = CliRunner().invoke(_cli(), [*args, "--db", str(store)], input=stdin)
    return result.exit_code, result.output, result.exception


def test_cli_adds_lists_disables_and_issues_tokens(store: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "ops")
    code, out, _ = _run(store, "users", "add", "boss", "--role", "admin",
                        stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0 and "Added user boss (admin)" in out and PASSWORD not in out
    code, out, _ = _run(store, "users", "add", "bot", "--role", "analyst", "--password-stdin",
                        stdin=PASSWORD + "\n")
    assert code == 0
    code, out, _ = _run(store, "users", "token", "bot", "--label", "ci")
    token = out.strip().splitlines()[-1]
    with Database(store) as db:
        assert user_from_token(db, token) == User("bot", "analyst")
        assert verify_password(db, "boss", PASSWORD) == User("boss", "admin")
    code, out, _ = _run(store, "users", "list")
    assert code == 0 and "boss" in out and "admin" in out and token not in out
    code, out, _ = _run(store, "users", "disable", "bot")
    assert code == 0
    with Database(store) as db:
        assert user_from_token(db, token) is None
        assert {r["actor"] for r in db.rows("SELECT actor FROM audit_log")} == {"cli:ops"}


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (("users", "add", "x", "--role", "root", "--password-stdin"), PASSWORD, "Unknown role"),
    (("users", "add", "x", "--password-stdin"), "short", "too weak"),
    (("users", "add", "x", "--password-stdin"), "", "empty"),
    (("users", "disable", "ghost"), None, "No user"),
    (("users", "token", "ghost"), None, "No user")])
def test_cli_errors_are_clean(store: Path, args: tuple[str, ...], stdin: str | None,
                              message: str) -> None:
    code, _, exc = _run(store, *args, stdin=stdin)
    assert code != 0 and isinstance(exc, ChainAtlasError) and message in str(exc)


def test_cli_prompt_needs_the_same_password_twice(store: Path) -> None:
    code, out, _ = _run(store, "users", "add", "x", stdin=f"{PASSWORD}\nother one!\n"
                                                          f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0 and "do not match" in out and "Added user x" in out
    with Database(store) as db:
        assert verify_password(db, "x", PASSWORD) == User("x", "viewer")


def test_cli_duplicate_user(store: Path) -> None:
    assert _run(store, "users", "add", "x", "--password-stdin", stdin=PASSWORD)[0] == 0
    code, _, exc = _run(store, "users", "add", "x", "--password-stdin", stdin=PASSWORD)
    assert code != 0 and "already exists" in str(exc)


def test_cli_refuses_a_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "typo.duckdb"
    code, _, exc = _run(missing, "users", "list")
    assert code != 0 and isinstance(exc, StoreError) and "chainatlas build" in str(exc)
    assert not missing.exists()


def test_cli_changes_a_role_and_logs_it(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "ops")
    code, _, _ = _run(store, "users", "add", "zhao", "--role", "viewer", "--password-stdin",
                      stdin=PASSWORD + "\n")
    assert code == 0
    code, out, _ = _run(store, "users", "role", "zhao", "analyst")
    assert code == 0 and "zhao is now analyst" in out
    with Database(store) as db:
        assert get_user(db, "zhao").role == "analyst"
        line = audit_rows(db, action="user.role", limit=1)[0]
    assert line["actor"] == "cli:ops" and (line["before"]["role"], line["after"]["role"]) == (
        "viewer", "analyst")
    code, _, exc = _run(store, "users", "role", "zhao", "boss")
    assert code != 0 and isinstance(exc, ChainAtlasError) and "boss" in str(exc)
