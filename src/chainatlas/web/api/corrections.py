"""Routes of analysts' corrections of firm placements (analyst or admin role)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from chainatlas.build import apply_correction
from chainatlas.store.users import User
from chainatlas.web.api.auth import AUTH_ERRORS, require_role
from chainatlas.web.api.common import area_router, chain_param, ok
from chainatlas.web.state import write_db

TAG = "firms 企业"

router = area_router(tags=[TAG])


class CorrectionIn(BaseModel):
    """An analyst's correction of a firm's placement (the author is the signed-in user)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    firm: str = Field(min_length=1, max_length=200, description="企业 id、股票代码或名称")
    chain: str = Field(min_length=1, max_length=64, description="产业链 id 或中文名")
    node: str = Field(min_length=1, max_length=64, description="环节 id")
    action: Literal["assign", "unassign"] = Field(description="assign 归入 / unassign 移出")
    reason: str = Field(min_length=1, max_length=1000, description="理由（必填）")


@router.post("/corrections", status_code=201, responses=AUTH_ERRORS,
             summary="Correct a firm's placement (人工修正企业所属环节)")
def post_correction(body: CorrectionIn,
                    user: Annotated[User, require_role("analyst")]) -> Response:
    """Record an assign/unassign correction; it survives rebuilds and reclassification.
    Needs the analyst or admin role (a bearer token, or the session cookie with
    X-CSRF-Token); the correction and its audit line name the signed-in user."""
    with write_db() as db:
        chain = chain_param(db, body.chain)
        node = chain.node(body.node).node_id
        row = apply_correction(db, body.firm, chain, node, body.action, body.reason,
                               user.name)
    return ok(row, status=201)
