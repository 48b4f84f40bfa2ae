"""The firm universe: which firms an analysis counts, chosen by id or Chinese name."""

from __future__ import annotations

import pytest

from chainatlas.errors import NotFoundError
from chainatlas.store import Database
from chainatlas.store.lookup import as_universe, default_universe
from chainatlas.store.query import compose, in_universe
from tests.helpers import NOW


def _store(origins: list[str]) -> Database:
    db = Database()
    for i, origin in enumerate(origins):
        db.execute("INSERT INTO companies (company_id, origin, short_name, source_id, "
                   "updated_at) VALUES (?, ?, ?, 1, ?)", [f"c{i}", origin, f"firm {i}", NOW])
    return db


def test_each_universe_counts_its_origins() -> None:
    db = _store(["listed", "listed", "registry", "roster"])
    counts = {u: db.scalar(compose("SELECT count(*) FROM companies c WHERE {w}",
                                   w=in_universe(u, "c")))
              for u in ("listed", "registry", "all")}
    assert counts == {"listed": 2, "registry": 1, "all": 4}
    with pytest.raises(ValueError, match="unknown universe"):
        in_universe("everything")


def test_the_default_is_all_once_unlisted_firms_are_loaded() -> None:
    assert default_universe(_store(["listed"])) == "listed"
    assert default_universe(_store(["listed", "roster"])) == "all"  # the user's own firms
    db = _store(["listed", "registry"])
    assert default_universe(db) == "all"
    assert as_universe(db, None) == "all"
    assert as_universe(db, " 上市企业 ") == "listed"
    assert as_universe(db, "Registry") == "registry"
    with pytest.raises(NotFoundError, match="choose one of listed"):
        as_universe(db, "外资")
