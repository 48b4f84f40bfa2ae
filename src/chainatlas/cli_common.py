"""Shared pieces of the command line: options, the store opener, output helpers."""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup
from typer.exceptions import TyperException

from chainatlas.config import default_db_path
from chainatlas.errors import ChainAtlasError, InputError, NotFoundError

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


#: The stores this command opened (the error handler names the file a late error is in).
_opened: list[str] = []


def open_store(db: Path | None, read_only: bool = False, *, create: bool = False) -> Database:
    """Open the store named by --db (or the default).

    Only ``build`` and ``demo`` pass ``create``: every other command refuses a path with
    no store ("No store at X; run 'chainatlas build'") instead of making an empty one.
    """
    from chainatlas.store.handoff import open_with_retry

    path = db or default_db_path()
    _opened.append(str(path))
    # A running server ('chainatlas serve') hands the file over to a writer, and a reader
    # waits while someone writes (chainatlas.store.handoff): said once, on stderr.
    return open_with_retry(path, read_only=read_only, create=create, notify=_say_waiting)


def _say_waiting(message: str) -> None:
    """Tell the user once that the command waits for the store (stdout stays clean)."""
    err_console.print(f"[yellow]{message}[/]", highlight=False)


def check_target(path: Path) -> Path:
    """Refuse an output file whose folder does not exist, naming the folder (before any
    work is done, and instead of the writer's traceback)."""
    folder = path.expanduser().parent
    if not folder.is_dir():
        raise NotFoundError(f"Cannot write {path}: the folder {folder} does not exist.")
    return path


def check_encoding(file: Path, encoding: str | None) -> None:
    """Refuse an ``--encoding`` that names no text codec (a typo, or a text transform such
    as rot13), naming the file and the encoding."""
    if encoding is None:
        return
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise InputError.single(str(file), f"unknown text encoding {encoding!r} "
                                "(try utf-8, gbk or gb18030, or omit --encoding)") from None
    # rot13, base64 and the like are codecs too, but they do not decode bytes to text.
    if not getattr(info, "_is_text_encoding", True):
        raise InputError.single(str(file), f"{encoding!r} is not a text encoding (try "
                                "utf-8, gbk or gb18030, or omit --encoding)")


def report_error(exc: BaseException) -> int | None:
    """Print an error the user can act on as one clean message; return the exit code
    (2: a bad input file, 1: anything else), or None for an error that is a bug."""
    if isinstance(exc, InputError):
        err_console.print(f"[red]Error:[/] {exc.summary}", highlight=False)
        for problem in exc.problems[1:20]:
            err_console.print(f"  - {problem}", highlight=False)
        if len(exc.problems) > 20:
            err_console.print(f"  … and {len(exc.problems) - 20} more", highlight=False)
        return 2
    if isinstance(exc, ChainAtlasError):
        message = str(exc)
    elif _is_duckdb_error(exc):
        # Damage found mid-query (a page the open did not read), a lock taken meanwhile.
        where = _opened[-1] if _opened else "the store"
        message = (f"Cannot read the store {where}: {str(exc).strip().splitlines()[0]}. "
                   "If the file is damaged, rebuild it with 'chainatlas build'.")
    elif isinstance(exc, OSError) and exc.filename is not None:
        message = f"{exc.filename}: {exc.strerror or exc}"
    elif isinstance(exc, UnicodeError):
        message = f"Cannot decode the input: {exc}"
    else:
        return None
    err_console.print(f"[red]Error:[/] {message}", highlight=False)
    return 1


def _is_duckdb_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from DuckDB (imported only if the command loaded it)."""
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(exc, duckdb.Error)


class CleanErrorsGroup(TyperGroup):
    """The command group that turns library errors into one clean message and an exit
    code (:func:`report_error`), wherever they are raised — for the ``chainatlas``
    script and for typer's test runner alike."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; report the errors a user can act on without a traceback."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # usage errors, --help, Ctrl+C: typer's own handling
        except Exception as exc:
            code = report_error(exc)
            if code is None:
                raise
            raise typer.Exit(code) from None


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

