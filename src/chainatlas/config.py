"""Configuration from the environment, in one place for the CLI, the web app and the library.

| variable | meaning | default |
|---|---|---|
| ``CHAINATLAS_DB`` | the store file | ``<user data dir>/chainatlas.duckdb`` |
| ``CHAINATLAS_HOME`` | fetched data, the web secret, browser-session files | the user cache dir |
| ``CHAINATLAS_MIRROR`` | a local folder with the open-data bundle's layout | none (download) |
| ``CHAINATLAS_SECRET`` | the key signing browser sessions | made once under HOME |
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DB_ENV = "CHAINATLAS_DB"
HOME_ENV = "CHAINATLAS_HOME"
MIRROR_ENV = "CHAINATLAS_MIRROR"
SECRET_ENV = "CHAINATLAS_SECRET"


def default_db_path() -> Path:
    """The store used when none is named (``$CHAINATLAS_DB`` or the user data dir)."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("chainatlas")) / "chainatlas.duckdb"


def home_dir() -> Path:
    """ChainAtlas's home folder (``$CHAINATLAS_HOME`` or the user's cache dir)."""
    env = os.environ.get(HOME_ENV)
    return Path(env) if env else Path(platformdirs.user_cache_dir("chainatlas"))


def cache_dir() -> Path:
    """The folder where fetched open data is kept."""
    return home_dir() / "data"


def mirror_from_env(mirror: str | Path | None = None) -> Path | None:
    """The mirror folder given explicitly or by ``$CHAINATLAS_MIRROR`` (None if neither)."""
    value = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    return Path(value).expanduser().resolve() if value else None


def secret_from_env() -> str | None:
    """The session-signing secret from ``$CHAINATLAS_SECRET``, if set."""
    return os.environ.get(SECRET_ENV) or None
