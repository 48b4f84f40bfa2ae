"""Results of the web app's expensive reads, cached per store version.

A panorama, a region profile, a map, the leaders or a ranking takes 20–400 ms to compute
and is asked for again and again (every visitor of 石家庄's chain page asks for the same
one). :func:`cached` keeps the most recent results in a bounded LRU keyed by the
function, its arguments and the store's *version* (:func:`store_version`): a fingerprint
of the store's files that every committed write changes (a correction, an import, a
build), while reads leave it alone. A cached result is served only while the fingerprint
is the one it was computed under, so an analyst's correction is visible on the very next
request.

The version is the server's own count of writes
(:func:`chainatlas.web.state.store_version`: exact, whatever the file system's clock
resolution) plus a fingerprint of the files, two ``stat`` calls (microseconds, no query,
no lock). The fingerprint stays as the fallback for writes the count cannot see: DuckDB
lets another process (the CLI) write the file only while the server has let go of it
(a write that could not reopen the store leaves it closed until the next request), and
such a commit changes the files.
In-memory stores are never cached: they have no file, and every one has the path
``:memory:``, so their keys would collide.

Cached results are shared between requests and pages: callers must not change them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from chainatlas.store import Database
from chainatlas.web import state

T = TypeVar("T")

#: Results kept: a panorama or ranking is 10–200 KB, so at most a few tens of MB.
MAX_ENTRIES = 256

#: DuckDB's write-ahead log, next to the store file.
WAL_SUFFIX = ".wal"


def store_version(db: Database) -> tuple[Any, ...] | None:
    """The store's current version: the server's count of writes, then the size and
    modification time of its file and of its write-ahead log. A commit appends to the log
    and a checkpoint rewrites the file, so every write changes it; reads never do. None
    for an in-memory store (or a file gone missing): nothing is cached then."""
    if db.path == ":memory:":
        return None
    # Read before the files: a write finishing in between leaves a key that is already
    # stale, never a stale value under a current key.
    writes = state.store_version()
    main = Path(db.path)
    try:
        info = main.stat()
    except OSError:
        return None
    try:
        wal = main.with_name(main.name + WAL_SUFFIX).stat()
        log: tuple[int, int] = (wal.st_size, wal.st_mtime_ns)
    except OSError:  # no log: everything is checkpointed into the file
        log = (-1, -1)
    return (writes, str(main.resolve()), info.st_size, info.st_mtime_ns, *log)


@dataclass
class CacheStats:
    """Hits and misses since the cache was made or last cleared."""

    hits: int = 0
    misses: int = 0


class LruCache:
    """A thread-safe, bounded least-recently-used map (API routes run in a thread pool)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        # key -> [lock, waiters]: one computation per key at a time (see flight()).
        self._flights: dict[Hashable, list[Any]] = {}
        self.stats = CacheStats()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, value)`` when ``key`` is kept (it becomes the most recent), else
        ``(False, None)``."""
        with self._lock:
            if key not in self._items:
                self.stats.misses += 1
                return False, None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return True, self._items[key]

    def peek(self, key: Hashable) -> tuple[bool, Any]:
        """As :meth:`get`, without counting a hit or a miss."""
        with self._lock:
            return (True, self._items[key]) if key in self._items else (False, None)

    @contextmanager
    def flight(self, key: Hashable) -> Iterator[None]:
        """Hold ``key``'s computation lock: fifty visitors opening the same page at once
        wait for one computation instead of running fifty."""
        with self._lock:
            entry = self._flights.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._flights[key]

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, dropping the least recent entries over the bound."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._items.clear()
            self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._items)


#: The web app's cache of read results (one per process).
RESULTS = LruCache()


def _key(fn: Callable[..., Any], version: tuple[Any, ...], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> Hashable | None:
    """The cache key, or None when an argument cannot be hashed (then nothing is cached)."""
    key = (fn.__module__, fn.__qualname__, version, args, tuple(sorted(kwargs.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def cached(fn: Callable[..., T], db: Database, *args: Any, **kwargs: Any) -> T:
    """``fn(db, *args, **kwargs)``, from :data:`RESULTS` while the store is unchanged.

    Errors are not cached (an unknown region costs little and must stay an error).
    """
    version = store_version(db)
    key = None if version is None else _key(fn, version, args, kwargs)
    if key is None:
        return fn(db, *args, **kwargs)
    found, value = RESULTS.get(key)
    if found:
        return value  # type: ignore[no-any-return]
    with RESULTS.flight(key):
        found, value = RESULTS.peek(key)  # computed meanwhile by the holder of the lock
        if found:
            return value  # type: ignore[no-any-return]
        result = fn(db, *args, **kwargs)
        RESULTS.put(key, result)
    return result
