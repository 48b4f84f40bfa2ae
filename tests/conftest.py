"""Shared fixtures: in-memory stores, the small bundle, and the real mirror."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from chainatlas.build import build_store
from chainatlas.sources.fetch import read_mirror
from chainatlas.store import Database
from tests.helpers import make_bundle, mirror_path, unpinned_bundle


@pytest.fixture
def db() -> Database:
    """A fresh in-memory store."""
    return Database()


@pytest.fixture
def mini_bundle(tmp_path: Path) -> Path:
    """A small bundle folder with the real data's quirks."""
    return make_bundle(tmp_path / "bundle")


@pytest.fixture
def mini_db(mini_bundle: Path) -> Database:
    """An in-memory store built from the small bundle."""
    store = Database()
    build_store(store, unpinned_bundle(mini_bundle))
    return store


@pytest.fixture(scope="session")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """A store built once from the real mirror (skips when there is none)."""
    folder = mirror_path()
    if folder is None:
        pytest.skip("no open-data mirror: set CHAINATLAS_MIRROR")
    store = Database(tmp_path_factory.mktemp("real") / "real.duckdb")
    build_store(store, read_mirror(folder))
    return store


@pytest.fixture(scope="module")
def fast_hashing() -> Iterator[None]:
    """Cheap argon2 costs for a module's users (the defaults take ~0.3 s per hash here)."""
    from chainatlas.store import users

    saved = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    users._hasher = saved


@pytest.fixture
def anyio_backend() -> str:
    """NiceGUI runs on asyncio."""
    return "asyncio"


@pytest.fixture
def keep_modules() -> Iterator[None]:
    """Put ChainAtlas's modules back after a simulation: NiceGUI's reset drops the page
    modules *and their parent packages* from sys.modules, after which a fresh
    ``chainatlas`` lacks the submodules still loaded (later tests' ``monkeypatch.setattr(
    "chainatlas.analysis…")`` then fail)."""
    kept = {k: v for k, v in sys.modules.items()
            if k == "chainatlas" or k.startswith("chainatlas.")}
    yield
    sys.modules.update(kept)
