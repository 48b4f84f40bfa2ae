"""The store stage: DuckDB schema, forward migrations and the one ``Database`` class."""

from chainatlas.store.database import Database
from chainatlas.store.migrations import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Database"]
