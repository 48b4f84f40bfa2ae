"""Helpers shared by the classification benchmarks: thread limits, the store, memory.

Import this module before numpy (or anything importing it) when the numeric libraries
must run on one thread: :func:`single_thread_env` only takes effect before that import.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from chainatlas.config import MIRROR_ENV

if TYPE_CHECKING:
    from chainatlas.store import Database

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def single_thread_env() -> None:
    """Pin OpenMP / BLAS thread pools to one thread (call before importing numpy)."""
    for var in THREAD_VARS:
        os.environ[var] = "1"


def add_store_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--db`` and ``--mirror`` (default ``$CHAINATLAS_MIRROR``) to a parser."""
    parser.add_argument("--db", default="/tmp/bench.duckdb",
                        help="store file; built from the mirror when missing")
    parser.add_argument("--mirror", default=os.environ.get(MIRROR_ENV),
                        help="open-data mirror folder (default $CHAINATLAS_MIRROR)")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild the store from the mirror before running")


def open_store(db_path: str, mirror: str | None, rebuild: bool = False) -> Database:
    """Open the store read-only; build it from the open-data mirror first when it is
    missing, when ``rebuild`` is set, or when its schema is older than this ChainAtlas."""
    from chainatlas.errors import StoreError
    from chainatlas.store import Database

    path = Path(db_path)
    if path.exists() and not rebuild:
        try:
            return Database(path, read_only=True)
        except StoreError as exc:
            print(f"{exc}\nrebuilding it instead", file=sys.stderr)
    build_into(path, mirror)
    return Database(path, read_only=True)


def build_into(path: Path, mirror: str | None) -> None:
    """Build (or rebuild) the store at ``path`` from the open data."""
    from chainatlas.build import build_store
    from chainatlas.sources.fetch import resolve_bundle
    from chainatlas.store import Database

    print(f"building {path} from {mirror or 'the data cache'} ...", file=sys.stderr)
    start = time.perf_counter()
    with Database(path) as db:
        build_store(db, resolve_bundle(mirror))
    print(f"built in {time.perf_counter() - start:.1f} s", file=sys.stderr)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def rss_mb() -> float:
    """Current resident set size in MiB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return peak_rss_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
