"""Uploads of input files (analyst or admin role): ``POST /imports/roster`` and
``POST /imports/projects``.

The web twins of ``chainatlas import roster`` and ``chainatlas projects import``: the same
library calls (:func:`chainatlas.build.import_and_place`,
:func:`chainatlas.projects.excel.import_projects`), the same options, strict (a bad row
refuses the whole file, 422 with every problem: file/row/field/reason) or lenient (the
good rows imported, the bad ones listed in the answer). The upload is written to a fresh
temporary folder under the user's own file name, and the problems name that name, not
the folder.

:func:`run_stored` is the shared part of every upload (temporary file, problems named
after the user's file); :func:`run_upload` adds the one web write as the API's user. The
项目库 page's upload runs :func:`projects_importer` through :func:`run_stored` too, with
the page's own write (the signed-in user checked at submit time).
"""

from __future__ import annotations

import codecs
import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import File, Form, UploadFile
from fastapi.responses import Response

from chainatlas.errors import InputError, Problem
from chainatlas.store import Database
from chainatlas.store.users import User
from chainatlas.web.api.auth import AUTH_ERRORS, require_role
from chainatlas.web.api.common import ERRORS, area_router, ok, problem_dict
from chainatlas.web.state import write_db

TAG = "imports 数据导入"
#: The largest upload accepted (a roster of ~200,000 rows is ~40 MB as CSV).
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
_CHUNK = 1024 * 1024

router = area_router(tags=[TAG])

#: What an upload does with the stored file: (store, file, user name) -> JSON answer.
Importer = Callable[[Database, Path, str], dict[str, Any]]


def upload_name(filename: str | None) -> str:
    """The user's file name without any folder part (a browser may send a full path);
    ``upload`` when it has none."""
    name = PurePath(str(filename or "").replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") else "upload"


@contextmanager
def stored_upload(content: bytes | Iterator[bytes], filename: str | None) -> Iterator[Path]:
    """The upload written to a fresh temporary folder under the user's file name (its
    suffix says CSV or Excel), removed afterwards with whatever the import wrote beside
    it (a lenient import's rejects workbook)."""
    name = upload_name(filename)
    chunks = [content] if isinstance(content, bytes) else content
    with tempfile.TemporaryDirectory(prefix="chainatlas-upload-") as folder:
        path = Path(folder) / name
        size = 0
        with path.open("wb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise InputError.single(name, f"the file is larger than "
                                            f"{MAX_UPLOAD_BYTES // 2**20} MB")
                handle.write(chunk)
        yield path


def user_named(exc: InputError, path: Path) -> InputError:
    """``exc`` with the temporary path replaced by the user's file name everywhere."""
    def rename(text: str) -> str:
        return text.replace(str(path), path.name)

    problems = [dataclasses.replace(p, file=rename(p.file)) for p in exc.problems]
    return InputError(problems, summary=rename(exc.summary))


def run_stored(content: bytes | Iterator[bytes], filename: str | None,
               write: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Store the upload, run ``write`` on the stored file and return its answer; an
    InputError names the user's file, not the temporary one."""
    with stored_upload(content, filename) as path:
        try:
            return write(path)
        except InputError as exc:
            raise user_named(exc, path) from None


def run_upload(content: bytes | Iterator[bytes], filename: str | None, user: User,
               importer: Importer) -> dict[str, Any]:
    """Store the upload, run ``importer`` on it in one web write (:func:`write_db`) as
    ``user``, and return its answer; an InputError names the user's file (and nothing
    was written: the importers are all-or-nothing)."""
    def write(path: Path) -> dict[str, Any]:
        with write_db() as db:
            return importer(db, path, user.name)
    return run_stored(content, filename, write)


def upload_chunks(upload: UploadFile) -> Iterator[bytes]:
    """The uploaded bytes, a megabyte at a time (never all of a big file in memory)."""
    while chunk := upload.file.read(_CHUNK):
        yield chunk


# -- the roster -------------------------------------------------------------------------

def parse_mapping(text: str | None) -> dict[str, str] | None:
    """The ``--map`` option's value ('单位全称=name,地址=address') as a header mapping."""
    if not text or not text.strip():
        return None
    pairs = [p.split("=", 1) for p in text.replace("，", ",").split(",") if p.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise InputError([Problem("map", None, "map", "use HEADER=field pairs, e.g. "
                                  "'单位全称=name,地址=address'")])
    return {k.strip(): v.strip() for k, v in pairs}


def check_encoding(name: str, encoding: str | None) -> str | None:
    """The CSV encoding asked for (None: detect), refused when it names no text codec."""
    if not encoding or not encoding.strip():
        return None
    try:
        info = codecs.lookup(encoding.strip())
    except LookupError:
        raise InputError.single(name, f"unknown text encoding {encoding!r} (try utf-8, "
                                "gbk or gb18030, or leave it empty)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise InputError.single(name, f"{encoding!r} is not a text encoding")
    return encoding.strip()


def roster_importer(*, lenient: bool, mapping: dict[str, str] | None,
                    encoding: str | None) -> Importer:
    """An importer running ``chainatlas import roster`` with these options."""
    def run(db: Database, path: Path, actor: str) -> dict[str, Any]:
        from chainatlas.build import import_and_place  # the classifier: only when used

        report, placed = import_and_place(db, path, mapping=mapping, encoding=encoding,
                                          lenient=lenient, actor=actor)
        return roster_summary(report, path.name, placed)
    return run


def roster_summary(report: Any, name: str, placed: dict[str, Any]) -> dict[str, Any]:
    """The CLI's ``--json`` summary of a roster import, naming the user's file; the bad
    rows of a lenient import as problems (file/row/field/reason), not a rejects file."""
    summary = {k: v for k, v in vars(report).items()
               if k not in ("problems", "rejects_file", "file")}
    summary["file"] = name
    summary["problems"] = [problem_dict(dataclasses.replace(p, file=name))
                           for p in report.problems]
    summary["classified"] = placed
    return summary


@router.post("/imports/roster", responses={**AUTH_ERRORS, 422: ERRORS[422]},
             summary="Import a roster file (导入企业名单)")
def post_roster(file: Annotated[UploadFile, File(description="企业名单（.xlsx 或 .csv）")],
                user: Annotated[User, require_role("analyst")],
                lenient: Annotated[bool, Form(description="宽松导入：导入正确的行，"
                                              "列出有问题的行")] = False,
                mapping: Annotated[str | None, Form(
                    alias="map", description="额外表头映射，如 '单位全称=name,地址=address'")
                ] = None,
                encoding: Annotated[str | None, Form(
                    description="CSV 编码（默认自动识别 UTF-8 / GBK）")] = None) -> Response:
    """Import a region's enterprise roster as ``chainatlas import roster`` does: strict
    unless ``lenient`` (a bad row refuses the file, 422 listing every problem), the firms
    placed on the chains in the same transaction, the audit log naming the user. Needs
    the analyst or admin role."""
    name = upload_name(file.filename)
    importer = roster_importer(lenient=lenient, mapping=parse_mapping(mapping),
                               encoding=check_encoding(name, encoding))
    return ok(run_upload(upload_chunks(file), file.filename, user, importer))


# -- the project sheet ------------------------------------------------------------------

def projects_importer(*, region: str | None, lenient: bool) -> Importer:
    """An importer running ``chainatlas projects import`` with these options, as the
    user: their region/park scope is checked row by row by the library, a row outside it
    being a bad row like any other."""
    def run(db: Database, path: Path, actor: str) -> dict[str, Any]:
        from chainatlas.projects.excel import import_projects

        report = import_projects(db, path, region=(region or "").strip() or None,
                                 lenient=lenient, actor=actor)
        return projects_summary(report, path.name)
    return run


def projects_summary(report: dict[str, Any], name: str) -> dict[str, Any]:
    """The CLI's ``--json`` report of a project-sheet import, naming the user's file
    (the temporary folder it was read from is nobody's business)."""
    summary = {**report, "file": name}
    summary["problems"] = [{**p, "file": name} for p in report["problems"]]
    return summary


@router.post("/imports/projects", responses={**AUTH_ERRORS, 404: ERRORS[404],
                                             422: ERRORS[422]},
             summary="Import a project sheet (导入招商项目表)")
def post_projects(file: Annotated[UploadFile, File(description="招商项目表（.xlsx）")],
                  user: Annotated[User, require_role("analyst")],
                  region: Annotated[str | None, Form(
                      description="本单位所在地区（名称或区划代码）：未填所在地的行记在该地区，"
                                  "县区名称在该地区内查找")] = None,
                  lenient: Annotated[bool, Form(description="宽松导入：导入正确的行，"
                                                "列出有问题的行")] = False) -> Response:
    """Import a bureau's project sheet as ``chainatlas projects import`` does: strict
    unless ``lenient`` (a bad row refuses the sheet, 422 listing every problem: file,
    Excel row, header, reason), every row checked against the user's region/park scope,
    all projects and one ``project.import`` audit line naming the user in one
    transaction. Needs the analyst or admin role."""
    importer = projects_importer(region=region, lenient=lenient)
    return ok(run_upload(upload_chunks(file), file.filename, user, importer))
