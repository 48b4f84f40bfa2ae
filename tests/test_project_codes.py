"""Project codes: the GB/T 40058-2021 structure, or a bureau's own pattern."""

from __future__ import annotations

import datetime as dt

import pytest

from chainatlas.errors import ParameterError
from chainatlas.projects import codes
from chainatlas.store import Database


def test_national_structure() -> None:
    today = dt.date(2026, 12, 3)
    assert codes.national_code_problem("2024-130110-27-01-000123", today) is None
    assert "structure" in (codes.national_code_problem("2024-130110-27-01-00012", today) or "")
    assert "year 2014" in (codes.national_code_problem("2014-130110-27-01-000123", today) or "")
    assert "year 2027" in (codes.national_code_problem("2027-130110-27-01-000123", today) or "")
    assert "no region" in (codes.national_code_problem("2024-000000-27-01-000123", today)
                           or "")


def test_normalise_folds_full_width_and_spaces() -> None:
    assert codes.normalise_code(" ２０２４－130110—27-01-000123 ") == "2024-130110-27-01-000123"


def test_division_must_be_a_region_of_the_store(mini_db: Database) -> None:
    assert codes.check_code(mini_db, "2024-130110-27-01-000123") == "2024-130110-27-01-000123"
    with pytest.raises(ParameterError, match="not a region"):
        codes.check_code(mini_db, "2024-999901-27-01-000123")
    assert codes.check_code(mini_db, "  ") is None


def test_the_bureaus_own_pattern(mini_db: Database) -> None:
    mini_db.set_setting(codes.PATTERN_SETTING, r"SJZ-\d{4}-\d{3}")
    assert codes.check_code(mini_db, "sjz-2024-017") == "SJZ-2024-017"
    with pytest.raises(ParameterError, match="pattern"):
        codes.check_code(mini_db, "2024-130110-27-01-000123")


def test_an_empty_store_checks_only_the_structure(db: Database) -> None:
    assert codes.check_code(db, "2024-999901-27-01-000123") == "2024-999901-27-01-000123"
