"""Project codes: the national structure (GB/T 40058-2021) or a bureau's own pattern.

The national investment-project online approval platform gives each project a code of
the structure ``YYYY-AAAAAA-BB-CC-NNNNNN``: the year it was registered, the 6-digit
administrative division code of the region, a 2-digit industry (sector) code, a 2-digit
project type code and a 6-digit serial number, 24 characters with hyphens. Bureaus that
number their own ledger (``SJZ-2024-017``) set the ``projects.code_pattern`` setting to a
regular expression; a code must then match it in full instead.

What is checked: the structure, the year (2015, when the platform began issuing codes, to
this year) and that the division code is a region of the store when the store holds
regions. What is not: the platform's own serial allocation, which only the platform
knows. A code is optional: a 线索 has none until it is registered on the platform.
"""

from __future__ import annotations

import datetime as dt
import re

from chainatlas.errors import ParameterError
from chainatlas.store import Database

#: The setting holding a bureau's own code pattern (a Python regular expression).
PATTERN_SETTING = "projects.code_pattern"
#: The first year the national platform issued codes.
FIRST_YEAR = 2015
_NATIONAL = re.compile(r"(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})")
_EXAMPLE = "2024-130100-27-01-000123"


def normalise_code(text: str) -> str:
    """A code as stored: full-width characters and dashes folded, spaces removed."""
    folded = text.translate(str.maketrans("－—–０１２３４５６７８９", "---0123456789"))
    return re.sub(r"\s+", "", folded).upper()


def national_code_problem(code: str, today: dt.date | None = None) -> str | None:
    """Why ``code`` is not a well-formed GB/T 40058 code, or None when it is."""
    match = _NATIONAL.fullmatch(code)
    if match is None:
        return (f"project code {code!r} does not have the GB/T 40058-2021 structure "
                f"年份-地区代码-行业-类型-序号, e.g. {_EXAMPLE}")
    year = int(match[1])
    this_year = (today or dt.date.today()).year
    if not FIRST_YEAR <= year <= this_year:
        return (f"project code {code!r} has the year {year}: codes were issued from "
                f"{FIRST_YEAR} to this year ({this_year})")
    if match[2] == "000000":
        return f"project code {code!r} has no region in its division code {match[2]}"
    return None


def check_code(db: Database, text: str | None) -> str | None:
    """The normalised code, None for an empty one, or a ParameterError saying what is wrong.

    With a ``projects.code_pattern`` setting the code must match it; otherwise it must have
    the national structure and its division code must be a region the store knows.
    """
    if text is None or not str(text).strip():
        return None
    code = normalise_code(str(text))
    pattern = db.get_setting(PATTERN_SETTING)
    if pattern:
        if re.fullmatch(pattern, code) is None:
            raise ParameterError(f"project code {code!r} does not match this bureau's "
                                 f"pattern {pattern!r} (setting {PATTERN_SETTING})")
        return code
    problem = national_code_problem(code)
    if problem is not None:
        raise ParameterError(problem)
    adcode = code[5:11]
    has_regions = db.scalar("SELECT count(*) FROM regions") or 0
    known = db.scalar("SELECT count(*) FROM regions WHERE adcode = ?", [adcode]) or 0
    if has_regions and not known:
        raise ParameterError(f"project code {code!r} names the division {adcode}, which is "
                             "not a region of the store")
    return code
