"""Deprecated home of firm lookup (TEMP, issue 8): use ``chainatlas.store.lookup``."""

from chainatlas.store.lookup import firm_from_text

__all__ = ["firm_from_text"]
