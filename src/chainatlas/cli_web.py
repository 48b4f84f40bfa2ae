"""The ``serve`` command: the web app (pages and REST API) on one port."""

from __future__ import annotations

from typing import Annotated

import typer

from chainatlas.cli_common import DbOption
from chainatlas.config import default_db_path


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for the whole "
                                           "network: needs a user, see 'chainatlas users "
                                           "add', and sign-in for every page).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    db: DbOption = None,
) -> None:
    """Serve the web app (产业链招商图谱) and its REST API (/api/v1) until Ctrl+C."""
    from chainatlas.web.app import serve

    # A missing store is reported by the app itself (web.state.open_web_store); so is a
    # non-loopback host without users (web.app.serve_check).
    serve(db or default_db_path(), host=host, port=port)
