"""The API against its own OpenAPI document: schemathesis generates requests from the
document (valid and invalid parameters) and checks every answer, in-process (ASGI).

Asserted for every operation: no 5xx, status codes and content types the document lists,
bodies and headers matching its schemas, invalid input refused, valid input accepted.
Bounded: a few examples per operation keep the run well under a minute on two cores.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from chainatlas.build import build_store
from chainatlas.store import Database
from chainatlas.web.app import create_app
from tests.helpers import make_bundle, unpinned_bundle

#: Examples per operation: ~18 operations x 20 examples stay within ~60 s on two cores.
EXAMPLES = 20


def without_startup(app: Any) -> Any:
    """The app, answering ASGI lifespan events itself: NiceGUI's startup insists on
    ui.run(), which the API does not need (as in test_web_api, whose clients are not
    entered either)."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return asgi


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app on a small store, and its OpenAPI document loaded by schemathesis."""
    folder = tmp_path_factory.mktemp("schema")
    path = folder / "schema.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(make_bundle(folder / "bundle")))
    # schemathesis's ASGI client asks for host "localhost" or "testserver"
    saved = os.environ.get("CHAINATLAS_ALLOWED_HOSTS")
    os.environ["CHAINATLAS_ALLOWED_HOSTS"] = "localhost,testserver"
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json",
                                             without_startup(create_app(Path(path))))
    finally:
        if saved is None:
            os.environ.pop("CHAINATLAS_ALLOWED_HOSTS", None)
        else:
            os.environ["CHAINATLAS_ALLOWED_HOSTS"] = saved


def _operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def _check(operation: Any) -> str | None:
    """Run the operation's examples; the first failure's report, or None."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def examples(case: Any) -> None:
        case.call_and_validate()

    try:
        examples()
    except (Exception, BaseExceptionGroup) as exc:  # a failed check: report it
        return f"{operation.label}: {exc}"
    return None


def test_every_operation_conforms_to_the_document(api_schema: Any) -> None:
    # By hand rather than schemathesis's pytest plugin: its lazy schemas fail under
    # pytest 9 ('Function' object has no attribute '_nodeid').
    operations = _operations(api_schema)
    assert len(operations) >= 15
    failures = [f for f in map(_check, operations) if f]
    assert not failures, "\n\n".join(failures)
