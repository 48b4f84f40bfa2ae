"""The one error hierarchy of ChainAtlas.

Library code raises these; the CLI and the web app turn them into one clean message
(and an exit code or an HTTP status) in a single place each, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class ChainAtlasError(Exception):
    """Base class of every error ChainAtlas reports to its user."""

    #: HTTP status the web layer answers with.
    status_code: int = 400


class DataSourceError(ChainAtlasError):
    """Open data could not be fetched, read or verified (offline, bad hash, missing file)."""

    status_code = 503


class NotFoundError(ChainAtlasError):
    """A named thing (region, firm, chain, node, file) does not exist."""

    status_code = 404


class ParameterError(ChainAtlasError):
    """A request's option has a value no command can use (a size band that does not exist,
    a province both included and excluded)."""

    status_code = 422


class StoreError(ChainAtlasError):
    """The DuckDB store is missing, locked, or at a schema this version cannot read."""

    status_code = 500


@dataclass(frozen=True)
class Problem:
    """One bad value in an input file: where it is and what is wrong with it."""

    file: str
    row: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.reason}"


class InputError(ChainAtlasError):
    """An input file (open data, roster, template) is malformed.

    Carries every problem found, not only the first, so a user can fix a file in one pass.
    """

    status_code = 422

    def __init__(self, problems: list[Problem], summary: str | None = None) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid input"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        self.summary = summary or f"{first}{more}"
        super().__init__(self.summary)

    @classmethod
    def single(cls, file: str, reason: str, row: int | None = None,
               field: str | None = None) -> InputError:
        """Build an error for one problem."""
        return cls([Problem(file, row, field, reason)])


class StoreBusyError(StoreError):
    """The store file is locked by another process (the server, a build, an import)."""

    status_code = 503


class ForbiddenError(ChainAtlasError):
    """The user may not make this change (an analyst limited to another region or park)."""

    status_code = 403


class ConflictError(ChainAtlasError):
    """A write was based on an old version of a record: someone else changed it first.

    ``changes`` lists the other writes made since the version the writer saw (who, when,
    which fields from -> to), so the refused change can be redone with them in view and
    nothing is silently overwritten.
    """

    status_code = 409

    def __init__(self, message: str, changes: list[dict[str, object]]) -> None:
        self.changes = changes
        super().__init__(message)
