"""Run the web app from a file: ``python -m chainatlas.web.main``, or NiceGUI's testing.

NiceGUI's ``user`` fixture executes a *main file* with ``runpy.run_path(...,
run_name="__main__")`` inside a simulation in which ``ui.run`` only records its
configuration and returns. This is that file: it sets up the app on the store named by
``$CHAINATLAS_DB`` (else the store already served, e.g. one a test passed to
:func:`chainatlas.web.state.use_store`, else the default store) and calls ``ui.run``.
The command line's ``chainatlas serve`` does the same through
:func:`chainatlas.web.app.serve`.
"""

from __future__ import annotations

import os

from nicegui import ui

from chainatlas.web.app import create_app, run_options


def main() -> None:
    """Set up the app on the store of ``$CHAINATLAS_DB`` and run it."""
    create_app(os.environ.get("CHAINATLAS_DB") or None)
    ui.run(**run_options())


if __name__ in {"__main__", "__mp_main__"}:
    main()
