"""``chainatlas users scope``: limiting an analyst's ledger writes to a region or park."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chainatlas.cli_users import users_app
from chainatlas.projects.scopes import user_scopes
from chainatlas.store import Database
from chainatlas.store.users import add_user
from tests.helpers import built_store, copy_store


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_store(tmp_path_factory.mktemp("scopes"))


def _run(store: Path, *args: str) -> tuple[int, str, BaseException | None]:
    app = typer.Typer()
    app.add_typer(users_app, name="users")
    result = CliRunner().invoke(app, ["users", "scope", *args, "--db", str(store)])
    return result.exit_code, result.output, result.exception


def test_scope_add_list_remove(built: Path, tmp_path: Path) -> None:
    store = copy_store(built, tmp_path)
    with Database(store) as db:
        add_user(db, "luquan", "analyst", "a-long-pass-phrase-1", actor="cli:admin")
    code, out, _ = _run(store, "luquan")
    assert code == 0 and "no scope" in out
    code, out, _ = _run(store, "luquan", "鹿泉区", "--park", "鹿泉经济开发区")
    assert code == 0 and "130110 鹿泉经济开发区" in out
    with Database(store) as db:
        assert user_scopes(db, "luquan") == [{"region_adcode": "130110",
                                              "park": "鹿泉经济开发区"}]
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'user.scope_add'") == 1
    code, out, _ = _run(store, "luquan", "130110", "--park", "鹿泉经济开发区", "--remove")
    assert code == 0 and "no scope" in out
    code, _, exc = _run(store, "luquan", "130110", "--remove")
    assert code != 0 and "no such scope" in str(exc)
    code, _, exc = _run(store, "ghost", "130110")
    assert code != 0 and "No user" in str(exc)
