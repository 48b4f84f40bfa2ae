"""The web app's store-versioned result cache (chainatlas.web.cache), alone and behind
the API: hits while the store is unchanged, a fresh answer after any write."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainatlas.build import apply_correction, build_store
from chainatlas.store import Database
from chainatlas.web import cache, state
from chainatlas.web.app import create_app
from chainatlas.web.state import request_db, write_db
from tests.helpers import make_bundle, unpinned_bundle


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file (the cache keys on files) built from the small bundle."""
    folder = tmp_path_factory.mktemp("cache")
    path = folder / "cache.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(make_bundle(folder / "bundle")))
    return path


@pytest.fixture
def client(store: Path) -> Iterator[TestClient]:
    """A client of the app on the module's store, with an empty cache."""
    cache.RESULTS.clear()
    # a loopback Host: the app refuses names it does not serve
    yield TestClient(create_app(store), base_url="http://127.0.0.1",
                     raise_server_exceptions=False)
    cache.RESULTS.clear()


class Counting:
    """A cached function that counts its calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.__qualname__ = f"Counting{id(self)}"  # a key of its own per instance
        self.__module__ = __name__

    def __call__(self, db: Database, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        time.sleep(self.delay)
        return {"args": args, "kwargs": kwargs, "call": self.calls}


# -- the LRU ----------------------------------------------------------------------------


def test_lru_keeps_the_most_recent_entries_within_its_bound() -> None:
    lru = cache.LruCache(max_entries=3)
    for key in "abc":
        lru.put(key, key.upper())
    assert lru.get("a") == (True, "A")  # a becomes the most recent
    lru.put("d", "D")  # drops b, the least recent
    assert len(lru) == 3
    assert lru.get("b") == (False, None)
    assert [lru.get(k)[0] for k in "acd"] == [True, True, True]
    assert (lru.stats.hits, lru.stats.misses) == (4, 1)
    lru.clear()
    assert len(lru) == 0 and lru.stats.hits == 0


# -- the store version ------------------------------------------------------------------


def test_version_is_stable_under_reads_and_changes_with_every_write(store: Path) -> None:
    create_app(store)
    with request_db() as db:
        before = cache.store_version(db)
        db.execute("SELECT count(*) FROM companies").fetchall()
        assert before is not None and cache.store_version(db) == before
    with write_db() as db:
        apply_correction(db, "以岭药业", "biomedicine", "bm_api", "assign", "版本测试", "t")
        after_write = cache.store_version(db)
        assert after_write != before
        db.execute("CHECKPOINT")  # the log folded into the file: never the old version
        after_checkpoint = cache.store_version(db)
        assert after_checkpoint != before
        apply_correction(db, "以岭药业", "biomedicine", "bm_api", "unassign", "撤回", "t")
        assert cache.store_version(db) not in (before, after_write, after_checkpoint)


def test_in_memory_stores_are_never_cached() -> None:
    counting = Counting()
    with Database() as db:
        assert cache.store_version(db) is None
        cache.cached(counting, db, 1)
        cache.cached(counting, db, 1)
    assert counting.calls == 2


# -- cached() ---------------------------------------------------------------------------


def test_cached_computes_once_per_arguments_and_version(store: Path) -> None:
    create_app(store)
    counting = Counting()
    with request_db() as db:
        first = cache.cached(counting, db, "130100", top=5)
        assert cache.cached(counting, db, "130100", top=5) is first
        assert counting.calls == 1
        assert cache.cached(counting, db, "130100", top=6)["call"] == 2
        assert cache.cached(counting, db, "420100", top=5)["call"] == 3
    with write_db() as db:
        apply_correction(db, "华北制药", "biomedicine", "bm_vaccines", "assign", "疫苗", "t")
    with request_db() as db:
        assert cache.cached(counting, db, "130100", top=5)["call"] == 4


def test_every_finished_write_counts_even_a_failed_one(store: Path) -> None:
    create_app(store)
    before = state.store_version()
    with write_db():
        pass
    assert state.store_version() == before + 1
    with pytest.raises(RuntimeError), write_db():
        raise RuntimeError("a write that failed half way")
    assert state.store_version() == before + 2


def test_a_write_the_files_do_not_show_still_refreshes_the_cache(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writes within the file system's clock tick, of the same size, leave the files'
    fingerprint as it was: the server's count of writes still changes the version."""
    create_app(store)
    counting = Counting()
    stat = Path.stat
    frozen: dict[str, Any] = {}

    def same_stat(self: Path, *args: Any, **kwargs: Any) -> Any:
        return frozen.setdefault(str(self), stat(self, *args, **kwargs))
    monkeypatch.setattr(Path, "stat", same_stat)
    with request_db() as db:
        assert cache.cached(counting, db, "130100")["call"] == 1
    with write_db():
        pass
    with request_db() as db:
        assert cache.cached(counting, db, "130100")["call"] == 2


def test_unhashable_arguments_are_computed_each_time(store: Path) -> None:
    create_app(store)
    counting = Counting()
    with request_db() as db:
        cache.cached(counting, db, ["not", "hashable"])
        cache.cached(counting, db, ["not", "hashable"])
    assert counting.calls == 2


def test_errors_are_not_cached(store: Path) -> None:
    create_app(store)
    calls: list[int] = []

    def failing(db: Database) -> None:
        calls.append(1)
        raise ValueError("boom")

    with request_db() as db:
        for _ in range(2):
            with pytest.raises(ValueError, match="boom"):
                cache.cached(failing, db)
    assert len(calls) == 2


def test_concurrent_misses_compute_once(store: Path) -> None:
    create_app(store)
    counting = Counting(delay=0.2)
    results: list[dict[str, Any]] = []
    start = threading.Barrier(8)

    def visit() -> None:
        with request_db() as db:
            start.wait()
            results.append(cache.cached(counting, db, "same"))

    threads = [threading.Thread(target=visit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counting.calls == 1 and len(results) == 8
    assert all(r is results[0] for r in results)


# -- behind the API ---------------------------------------------------------------------


ROUTES = ["/api/v1/panorama?chain=biomedicine&region=130100",
          "/api/v1/region-profile?chain=biomedicine&region=130100",
          "/api/v1/map?chain=biomedicine", "/api/v1/leaders?chain=biomedicine&region=130100",
          "/api/v1/recommend/nodes?chain=biomedicine&region=130100",
          "/api/v1/recommend/firms?chain=biomedicine&region=130100"]


@pytest.mark.parametrize("url", ROUTES)
def test_expensive_routes_answer_repeats_from_the_cache(client: TestClient, url: str) -> None:
    first = client.get(url)
    assert first.status_code == 200, first.text
    hits = cache.RESULTS.stats.hits
    again = client.get(url)
    assert again.status_code == 200 and again.json() == first.json()
    assert cache.RESULTS.stats.hits == hits + 1


def test_a_correction_shows_on_the_next_request(client: TestClient) -> None:
    url = "/api/v1/map?chain=biomedicine&node=bm_vaccines&level=city"
    before = client.get(url).json()
    client.get(url)  # now cached
    firms_before = before["total_firms"]
    with write_db() as db:
        apply_correction(db, "鼎龙股份", "biomedicine", "bm_vaccines", "assign",
                         "年报披露疫苗业务", "t")
    after = client.get(url).json()
    assert after["total_firms"] == firms_before + 1
    with write_db() as db:
        apply_correction(db, "鼎龙股份", "biomedicine", "bm_vaccines", "unassign",
                         "撤回", "t")
    assert client.get(url).json()["total_firms"] == firms_before


def test_page_frames_share_one_selection_per_store_version(store: Path) -> None:
    """Every page load reads its frame (selection, pickers); a visit with the same picker
    values reuses it until the next write."""
    from chainatlas.web.pages.layout import frame_data

    create_app(store)
    cache.RESULTS.clear()
    with request_db() as db:
        first = frame_data(db, {"region": "130100", "tab": "x"}, {})
        assert frame_data(db, {"region": "130100", "tab": "y"}, {}) is first
        assert frame_data(db, {"region": "420100"}, {}) is not first
    with write_db():
        pass
    with request_db() as db:
        again = frame_data(db, {"region": "130100"}, {})
    assert again is not first and again.selection == first.selection


def test_cached_json_keeps_the_encoded_bytes_per_version(store: Path) -> None:
    """A hit returns the bytes encoded once (no jsonable walk per request); a write
    makes them stale like any cached result."""
    from chainatlas.web.api.common import ApiJSONResponse, cached_json, encode_json

    create_app(store)
    counting = Counting()
    with request_db() as db:
        first = cached_json(counting, db, "130100", top=5)
        assert cached_json(counting, db, "130100", top=5) is first
        assert counting.calls == 1
        assert first == encode_json({"args": ("130100",), "kwargs": {"top": 5}, "call": 1})
        assert ApiJSONResponse(first).body == first  # sent as they are, not re-encoded
    with write_db() as db:
        apply_correction(db, "华北制药", "biomedicine", "bm_vaccines", "assign", "疫苗", "t")
    with request_db() as db:
        assert b'"call":2' in cached_json(counting, db, "130100", top=5)
