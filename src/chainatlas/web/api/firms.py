"""Routes of firms: a firm's profile and the firm search."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from fastapi.responses import Response

from chainatlas.analysis.profile import firm_profile
from chainatlas.web.api.common import (
    UNIVERSE_WORDS,
    area_router,
    cached_json,
    ok,
    universe_param,
)
from chainatlas.web.state import request_db

TAG = "firms 企业"

router = area_router(tags=[TAG])


# ":path": a firm without a USCC is keyed by its name, which may hold "/" (clients send
# it as %2F, which the server decodes back to "/" before routing).
@router.get("/firms/{company_id:path}", summary="Firm profile (企业画像)")
def get_firm(company_id: Annotated[str, Path(max_length=200, description=(
        "企业 id、股票代码、统一社会信用代码或名称"))]) -> Response:
    """Identity, location, products, placements, supply links, corrections, history."""
    with request_db() as db:
        return ok(cached_json(firm_profile, db, company_id))


@router.get("/search", summary="Firm search (企业检索)")
def search(q: Annotated[str, Query(min_length=1, max_length=100, description=(
               "名称、简称、拼音首字母或股票代码"))],
           limit: Annotated[int, Query(ge=1, le=50)] = 10,
           universe: Annotated[str | None, Query(
               min_length=1, max_length=16, json_schema_extra={"enum": UNIVERSE_WORDS},
               description="只检索该范围的企业（listed、registry、all）；默认检索全部企业")] = None
           ) -> Response:
    """Firms matching names, pinyin initials, stock codes or typos, best first; every
    firm unless ``universe`` narrows the search."""
    # Looked up when called: the search index module is replaced in tests (and NiceGUI's
    # test reset may re-import the package), so no reference is kept here.
    from chainatlas.analysis.search import search_firms

    with request_db() as db:
        chosen = None if universe is None else universe_param(db, universe)
        return ok(cached_json(search_firms, db, q, limit, chosen), universe=chosen)
