"""Routes of 招商清单 (saved lists of 精准招商 target firms) and one-click leads.

Reads are open; writes need the analyst role and name the signed-in user. A firm is added
with what the recommender says of it for the list's region and chain (the client sends
only firm ids: reasons are never taken from it); turning an item, or a recommended firm
directly, into a 线索 project keeps those reasons, and a second click returns the same
project.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from chainatlas.projects import lists
from chainatlas.store.users import User
from chainatlas.web.api.auth import AUTH_ERRORS, require_role
from chainatlas.web.api.common import XLSX, area_router, ok, universe_param, xlsx_response
from chainatlas.web.state import request_db, write_db

TAG = "lists 招商清单"

router = area_router(tags=[TAG])

ListId = Annotated[int, Path(ge=1, le=2**31 - 1, description="清单编号")]
FirmId = Annotated[str, Path(min_length=1, max_length=64, description="企业 id")]


class ListIn(BaseModel):
    """A new list: its name, and the region and chain whose recommendation it draws on."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="清单名称")
    region: str = Field(min_length=1, max_length=64, description="地区名称或代码")
    chain: str = Field(min_length=1, max_length=64, description="产业链 id 或中文名")
    note: str | None = Field(default=None, max_length=2000, description="备注")


class ItemsIn(BaseModel):
    """Firms to add (ids only: the reasons come from the recommender)."""

    model_config = ConfigDict(extra="forbid")

    company_ids: list[str] = Field(min_length=1, max_length=200, description="企业 id 列表")
    universe: str | None = Field(default=None, max_length=16,
                                 description="推荐所用企业范围：listed、registry 或 all")


class NoteIn(BaseModel):
    """A listed firm's note (empty clears it)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, description="备注")


class LeadIn(BaseModel):
    """A recommended firm to turn into a 线索 project directly."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    company_id: str = Field(min_length=1, max_length=64, description="企业 id")
    region: str = Field(min_length=1, max_length=64, description="地区名称或代码")
    chain: str = Field(min_length=1, max_length=64, description="产业链 id 或中文名")
    universe: str | None = Field(default=None, max_length=16,
                                 description="推荐所用企业范围：listed、registry 或 all")


@router.get("/lists", summary="Saved 招商清单")
def get_lists() -> Response:
    """Every list with its firm and lead counts."""
    with request_db() as db:
        return ok(lists.lists_frame(db).to_dict(orient="records"))


@router.post("/lists", status_code=201, responses=AUTH_ERRORS, summary="Create a 招商清单")
def post_list(body: ListIn, user: Annotated[User, require_role("analyst")]) -> Response:
    """A new, empty list (analyst role)."""
    with write_db() as db:
        row = lists.create_list(db, body.name, region=body.region, chain=body.chain,
                                note=body.note, actor=user.name)
    return ok(row, status=201)


@router.get("/lists/{list_id}", summary="One 招商清单 and its firms")
def get_list(list_id: ListId) -> Response:
    """The list and its firms with their reasons, notes and leads."""
    with request_db() as db:
        row = lists.get_list(db, list_id)
        items = lists.list_items_frame(db, list_id).to_dict(orient="records")
    return ok({"list": row, "items": items})


@router.post("/lists/{list_id}/items", responses=AUTH_ERRORS,
             summary="Add recommended firms to a 招商清单")
def post_items(list_id: ListId, body: ItemsIn,
               user: Annotated[User, require_role("analyst")]) -> Response:
    """Add firms with the recommender's reasons; firms already listed are reported."""
    with write_db() as db:
        return ok(lists.add_to_list(db, list_id, body.company_ids, actor=user.name,
                                    universe=universe_param(db, body.universe)))


@router.patch("/lists/{list_id}/items/{company_id}", responses=AUTH_ERRORS,
              summary="Set a listed firm's note")
def patch_item(list_id: ListId, company_id: FirmId, body: NoteIn,
               user: Annotated[User, require_role("analyst")]) -> Response:
    """Set or clear the note of a listed firm."""
    with write_db() as db:
        lists.set_item_note(db, list_id, company_id, body.note, actor=user.name)
    return ok({"list_id": list_id, "company_id": company_id, "note": body.note})


@router.delete("/lists/{list_id}/items/{company_id}", responses=AUTH_ERRORS,
               summary="Take a firm off a 招商清单")
def delete_item(list_id: ListId, company_id: FirmId,
                user: Annotated[User, require_role("analyst")]) -> Response:
    """Remove a firm (a project made from it stays in the ledger)."""
    with write_db() as db:
        lists.remove_from_list(db, list_id, company_id, actor=user.name)
    return ok({"list_id": list_id, "company_id": company_id, "removed": True})


@router.delete("/lists/{list_id}", responses=AUTH_ERRORS, summary="Delete a 招商清单")
def delete_list(list_id: ListId, user: Annotated[User, require_role("analyst")]) -> Response:
    """Delete a list and its items (their projects stay in the ledger)."""
    with write_db() as db:
        lists.delete_list(db, list_id, actor=user.name)
    return ok({"list_id": list_id, "deleted": True})


@router.post("/lists/{list_id}/items/{company_id}/lead", responses=AUTH_ERRORS,
             summary="Turn a listed firm into a 线索 project")
def post_item_lead(list_id: ListId, company_id: FirmId,
                   user: Annotated[User, require_role("analyst")]) -> Response:
    """The firm's 线索 project, keeping its reasons (made once; later calls return it)."""
    with write_db() as db:
        return ok(lists.lead_from_item(db, list_id, company_id, actor=user.name))


@router.post("/recommend/lead", responses=AUTH_ERRORS,
             summary="Turn a recommended firm into a 线索 project")
def post_recommend_lead(body: LeadIn,
                        user: Annotated[User, require_role("analyst")]) -> Response:
    """A 线索 project straight from 精准招商, keeping the recommender's reasons."""
    with write_db() as db:
        return ok(lists.lead_from_recommendation(db, body.company_id, region=body.region,
                                                 chain=body.chain, actor=user.name,
                                                 universe=universe_param(db, body.universe)))


@router.get("/lists/{list_id}/export.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "清单 Excel"}},
            summary="A 招商清单 as an Excel workbook")
def get_list_xlsx(list_id: ListId) -> Response:
    """The list with its firms, reasons and notes, as a formatted workbook."""
    with request_db() as db:
        name = str(lists.get_list(db, list_id)["name"])
        return xlsx_response(lambda target: lists.list_workbook(db, list_id, target),
                             f"招商清单_{name}.xlsx", f"list_{list_id}.xlsx")
