"""Shared pieces of the command line: options, the store opener, output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from chainatlas.config import default_db_path

if TYPE_CHECKING:  # the store pulls in duckdb and pandas: not for --help
    from chainatlas.store import Database

console = Console()
err_console = Console(stderr=True)


DbOption = Annotated[Path | None, typer.Option("--db", help="Store file (default: "
                                                "$CHAINATLAS_DB or the user data dir).")]
MirrorOption = Annotated[Path | None, typer.Option(
    "--mirror", help="Read the open data from this folder (layout of the bundle) instead "
    "of downloading it; default $CHAINATLAS_MIRROR.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
UniverseOption = Annotated[str | None, typer.Option(
    "--universe", help="Which firms to count: listed (上市企业), registry (工商登记企业) or "
    "all (全部企业, the imported roster included). Default: all when registry firms are "
    "loaded, else listed.")]


def open_store(db: Path | None, read_only: bool = False) -> Database:
    """Open the store named by --db (or the default)."""
    from chainatlas.store import Database

    return Database(db or default_db_path(), read_only=read_only)


def universe_of(store: Database, text: str | None) -> str:
    """The universe an option names (id or Chinese name; None: the store's default)."""
    from chainatlas.store.lookup import as_universe

    return as_universe(store, text)


def universe_title(result: dict[str, Any]) -> str:
    """`` · 全部企业`` for a result naming its universe ('' for one that does not)."""
    return f" · {result['universe_zh']}" if result.get("universe_zh") else ""


def print_json(value: Any) -> None:
    """Print a value as indented UTF-8 JSON on stdout."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def progress_bar(total: int | None = None) -> Iterator[tuple[Progress, Any]]:
    """A rich progress bar on stderr (stdout stays clean for --json)."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                        console=err_console, transient=False)
    with progress:
        yield progress, progress.add_task("starting", total=total)

