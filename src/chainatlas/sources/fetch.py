"""Acquire the open-data bundle: download it from its public sources or read a mirror.

Every file is named by its public URL (repository and commit) and, where the upstream
bytes are known, a pinned sha256. Two chainkg files were rebuilt from another dump of the
same data, so their upstream hash cannot be known here: for those the hash of whatever
was fetched or read is recorded instead of checked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chainatlas.config import cache_dir, mirror_from_env
from chainatlas.errors import DataSourceError

_KG = "https://raw.githubusercontent.com/liuhuanyong/ChainKnowledgeGraph/4ea9154/data/"
_TUSHARE = ("https://raw.githubusercontent.com/wp19991/gp/"
            "d0115ed58433c3d7b9f47392353503938ab3220e/data/stock_company.json")
_SZSE = ("https://raw.githubusercontent.com/marszhongx/stock-data/"
         "168980f2f8d3b1700c4c2f47893d3f9b5e4e2c21/" + urllib.parse.quote("A股列表.xlsx"))
_GBT = ("https://raw.githubusercontent.com/zmshe/capital/"
        "0b8f1ae480aadd9f35aca2fd0efb934e9a7101e8/src/utils/category.js")


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class DataFile:
    """One file of the open-data bundle: where it lives locally and upstream."""

    path: str
    dataset: str
    url: str
    sha256: str | None


BUNDLE: tuple[DataFile, ...] = (
    DataFile("chainkg/company.json", "chainkg", _KG + "company.json",
             "cabcfda03b072d7cca9bd5ce07223ad24b8c194b599546567049f467c8fecd22"),
    DataFile("chainkg/company_industry.json", "chainkg", _KG + "company_industry.json",
             "59ed3b1c7ad347f4dd40677a38b258722d9154e1944b72e631babe55ac9a4bd4"),
    DataFile("chainkg/company_product.json", "chainkg", _KG + "company_product.json", None),
    DataFile("chainkg/industry.json", "chainkg", _KG + "industry.json",
             "60edbcf319099ce01d38a5ccc0340654e5c44ea23a47ff369f0fcfda57f626b5"),
    DataFile("chainkg/industry_industry.json", "chainkg", _KG + "industry_industry.json",
             "847eadad1338f8de4662c47180e27917a6857c00b680f98e4308c99079a09022"),
    DataFile("chainkg/industry_up.json", "chainkg", _KG + "industry_up.json",
             "16561f9ce56558349ab1df5295acf5f99496b2e1ffe4a4efa93cf5663c29a93d"),
    DataFile("chainkg/product.json", "chainkg", _KG + "product.json",
             "4d6268a8ebefea97fa22533a6fb60a239ac60357caf1caec9cb20cc7dbcd8c54"),
    DataFile("chainkg/product_product.json", "chainkg", _KG + "product_product.json", None),
    DataFile("listed-companies/stock_company.json", "tushare", _TUSHARE,
             "0fa2325cd79f8c9af718a1b19b99ee78e549aaf960ef8ba23119f16a6a2f4fd7"),
    DataFile("listed-companies/szse_a_list.xlsx", "szse", _SZSE,
             "dbe1ef6a8c92a8a011ca3d4abc9627efb20156f9a11f91d25076515a70026ad3"),
    DataFile("gbt4754/category.js", "gbt4754", _GBT,
             "5a302f45d1de2b755e988f3e539a655d5ccf5c4c7077d80327ba42ad392300d5"),
)


@dataclass(frozen=True)
class FetchedFile:
    """A bundle file available locally, with the hash of its bytes."""

    spec: DataFile
    local: Path
    sha256: str
    size: int
    fetched_at: dt.datetime | None
    verified: bool


def _hashed(spec: DataFile, local: Path, fetched_at: dt.datetime | None) -> FetchedFile:
    return FetchedFile(spec, local, file_sha256(local), local.stat().st_size, fetched_at,
                       verified=spec.sha256 is not None)


def _matches_pin(found: FetchedFile) -> bool:
    return found.spec.sha256 is None or found.sha256 == found.spec.sha256


def _verify(spec: DataFile, local: Path, fetched_at: dt.datetime | None) -> FetchedFile:
    found = _hashed(spec, local, fetched_at)
    if not _matches_pin(found):
        raise DataSourceError(
            f"{local}: sha256 {found.sha256} does not match the pinned {spec.sha256} for "
            f"{spec.url}. The file is corrupt or not the pinned version; delete it and "
            "fetch again, or point --mirror at an unmodified copy."
        )
    return found


def _fetched_at(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)


def read_mirror(mirror: Path, files: Sequence[DataFile] = BUNDLE) -> list[FetchedFile]:
    """Check a local mirror folder (layout of the open-data bundle) and hash its files."""
    if not mirror.is_dir():
        raise DataSourceError(f"The mirror folder {mirror} does not exist.")
    missing = [f.path for f in files if not (mirror / f.path).is_file()]
    if missing:
        raise DataSourceError(
            f"The mirror {mirror} lacks {len(missing)} bundle file(s): {', '.join(missing)}."
        )
    return [_verify(f, mirror / f.path, _fetched_at(mirror / f.path)) for f in files]


Downloader = Callable[[str, Path], None]


def _download(url: str, target: Path) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "chainatlas"})
    with urllib.request.urlopen(request, timeout=30) as response, target.open("wb") as out:
        shutil.copyfileobj(response, out)


def fetch_bundle(files: Sequence[DataFile] = BUNDLE, *, target: Path | None = None,
                 download: Downloader | None = None,
                 progress: Callable[[DataFile], None] | None = None) -> list[FetchedFile]:
    """Download the bundle into the cache, checking pinned hashes.

    Files already cached with the right hash are kept. Downloads land in a temporary
    folder and are moved into place only when every file arrived and verified, so a
    failed fetch writes nothing.
    """
    target = target or cache_dir()
    download = download or _download
    cached = {f.path: c for f in files if (c := _cached(f, target / f.path)) is not None}
    todo = [f for f in files if f.path not in cached]
    with tempfile.TemporaryDirectory(prefix="chainatlas-fetch-") as tmp:
        staged: list[FetchedFile] = []
        for spec in todo:
            local = Path(tmp) / spec.path
            local.parent.mkdir(parents=True, exist_ok=True)
            try:
                download(spec.url, local)
            except (urllib.error.URLError, OSError) as exc:
                host = urllib.parse.urlsplit(spec.url).netloc
                raise DataSourceError(
                    f"Cannot reach {host} to download the open data ({exc}): connect to "
                    "the internet, or pass --mirror DIR (or set CHAINATLAS_MIRROR) to read "
                    "a local copy of the bundle instead."
                ) from exc
            staged.append(_verify(spec, local, None))
            if progress:
                progress(spec)
        for found in staged:
            final = target / found.spec.path
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(found.local, final)
            cached[found.spec.path] = dataclasses.replace(found, local=final,
                                                          fetched_at=_fetched_at(final))
    return [cached[f.path] for f in files]


def _cached(spec: DataFile, local: Path) -> FetchedFile | None:
    """The cached copy of a file, hashed once; None when missing or not the pinned bytes."""
    if not local.is_file():
        return None
    found = _hashed(spec, local, _fetched_at(local))
    return found if _matches_pin(found) else None


def resolve_bundle(mirror: str | Path | None = None) -> list[FetchedFile]:
    """Return the bundle's local files: from the mirror if one is set, else the cache
    (downloading whatever is missing from it)."""
    folder = mirror_from_env(mirror)
    return read_mirror(folder) if folder is not None else fetch_bundle()
