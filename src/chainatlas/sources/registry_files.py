"""The enterprise registry's files: where they live upstream, their pins, and local copies.

The registry (1978–2004 registrations of mainland firms, ~1.1 million rows) is one CSV per
registration year and province, from the public repository catseyess/elevencats (branch
``csv``, commit b3d9025), folder ``Enterprise-Registration-Data/csv/``. Licence CC BY-NC-SA
4.0: ChainAtlas downloads or reads it, never ships it, and shows the licence wherever it
uses it (``store.stats.REGISTRY_LICENCE`` and ``REGISTRY_LICENCE_ZH``).

Pins: ``registry_sha256.txt`` beside this module lists the sha256 of each upstream file's
(uncompressed) bytes. A mirror may keep a file as ``<name>.csv.gz``; the pin is checked on
the decompressed bytes. Six upstream files were too large for the mirror snapshot and have
no pin (:data:`UNPINNED`); a file missing from a mirror or from upstream is reported and the
rest of the source still loads.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from chainatlas.config import cache_dir, mirror_from_env
from chainatlas.errors import InputError

COMMIT = "b3d9025beefdd9b78baa02917a91692f1db604a1"
BASE_URL = ("https://raw.githubusercontent.com/catseyess/elevencats/"
            f"{COMMIT}/Enterprise-Registration-Data/csv/")
YEARS = tuple(range(1978, 2005))
PROVINCES = ("北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏",
             "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西",
             "海南", "重庆", "四川", "贵州", "云南", "西藏", "陕西", "甘肃", "青海", "宁夏",
             "新疆")
#: Upstream files whose bytes could not be had here, so no pin is known.
UNPINNED = ("2001/山东.csv", "2002/山东.csv", "2003/山东.csv", "2004/山东.csv",
            "2004/北京.csv", "2004/广东.csv")
#: Provinces without registry files, still valid in a province column.
OTHER_PROVINCES = ("香港", "澳门", "台湾")
_SUFFIXES = ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区")


@dataclass(frozen=True)
class RegistryFile:
    """One upstream registry file: ``1998/河北.csv``, its URL and pin (None if unknown)."""

    path: str
    sha256: str | None

    @property
    def year(self) -> int:
        """The registration year the file holds."""
        return int(self.path.split("/")[0])

    @property
    def province(self) -> str:
        """The province short name (河北)."""
        return self.path.split("/")[1].removesuffix(".csv")

    @property
    def url(self) -> str:
        """The public URL of the upstream file."""
        return BASE_URL + urllib.parse.quote(self.path)


@dataclass(frozen=True)
class LocalFile:
    """A registry file found locally (plain or gzip-compressed)."""

    spec: RegistryFile
    local: Path

    def read(self) -> tuple[bytes, str]:
        """The file's upstream bytes (decompressed) and their sha256."""
        raw = self.local.read_bytes()
        data = gzip.decompress(raw) if self.local.suffix == ".gz" else raw
        return data, hashlib.sha256(data).hexdigest()


@dataclass
class RegistryScan:
    """What was found for the requested provinces: local files and files missing."""

    found: list[LocalFile] = field(default_factory=list)
    missing: list[RegistryFile] = field(default_factory=list)


def _pins() -> dict[str, str]:
    text = resources.files("chainatlas.sources").joinpath("registry_sha256.txt").read_text(
        encoding="utf-8")
    return {path: digest for digest, path in (line.split(maxsplit=1) for line in
                                               text.splitlines() if line.strip())}


def province_short(name: str) -> str | None:
    """The short name of a province (河北, 河北省, 广西壮族自治区 -> 广西); None if none."""
    for short in (name, *(name.removesuffix(s) for s in sorted(_SUFFIXES, key=len, reverse=True)
                          if name.endswith(s))):
        if short in PROVINCES or short in OTHER_PROVINCES:
            return short
    return None


def province_list(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Provinces named by ``--registry``: ``河北``, ``河北省``, ``河北,山西`` or ``all``."""
    if text is None:
        return ()
    items = [text] if isinstance(text, str) else list(text)
    names: list[str] = []
    for item in items:
        for part in item.replace("，", ",").replace("、", ",").split(","):
            name = part.strip()
            if not name:
                continue
            if name.lower() == "all":
                return PROVINCES
            short = province_short(name)
            if short is None or short not in PROVINCES:
                raise InputError.single("--registry", f"{name!r} is not a province; use a name "
                                        "such as 河北 or 河北省, several separated by commas, "
                                        "or 'all'")
            if short not in names:
                names.append(short)
    return tuple(names)


def registry_files(provinces: Sequence[str]) -> list[RegistryFile]:
    """Every upstream file of the given provinces (pinned or not), by year."""
    pins = _pins()
    wanted = set(provinces)
    paths = sorted((p for p in {*pins, *UNPINNED} if p.split("/")[1][:-4] in wanted),
                   key=lambda p: (int(p[:4]), PROVINCES.index(p.split("/")[1][:-4])))
    return [RegistryFile(p, pins.get(p)) for p in paths]


def scan_mirror(mirror: Path, files: Sequence[RegistryFile]) -> RegistryScan:
    """Find each file in a mirror folder (``registry/csv/<year>/<province>.csv[.gz]``)."""
    scan = RegistryScan()
    root = mirror / "registry" / "csv"
    for spec in files:
        local = next((c for c in (root / (spec.path + ".gz"), root / spec.path)
                      if c.is_file()), None)
        if local is None:
            scan.missing.append(spec)
        else:
            scan.found.append(LocalFile(spec, local))
    return scan


Downloader = Callable[[str, Path], None]


def _download(url: str, target: Path) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "chainatlas"})
    with urllib.request.urlopen(request, timeout=60) as response:
        target.write_bytes(response.read())


def fetch_files(files: Sequence[RegistryFile], target: Path,
                download: Downloader | None = None,
                progress: Callable[[RegistryFile], None] | None = None) -> RegistryScan:
    """Download files not yet in ``target`` (kept as ``.csv.gz``); a file that cannot be
    had (404, no network) is reported missing, never fatal for the rest."""
    download = download or _download
    scan = scan_mirror(target, files)
    have = {f.spec.path for f in scan.found}
    scan.missing = []
    for spec in files:
        if spec.path in have:
            continue
        final = target / "registry" / "csv" / (spec.path + ".gz")
        final.parent.mkdir(parents=True, exist_ok=True)
        part = final.with_suffix(".part")
        try:
            download(spec.url, part)
        except (urllib.error.URLError, OSError):
            part.unlink(missing_ok=True)
            scan.missing.append(spec)
            continue
        final.write_bytes(gzip.compress(part.read_bytes(), mtime=0))
        part.unlink()
        scan.found.append(LocalFile(spec, final))
        if progress:
            progress(spec)
    scan.found.sort(key=lambda f: files.index(f.spec))
    return scan


def resolve_registry(provinces: Sequence[str], mirror: str | Path | None = None,
                     progress: Callable[[RegistryFile], None] | None = None) -> RegistryScan:
    """The registry files of ``provinces``: from the mirror when one is set (argument or
    ``$CHAINATLAS_MIRROR``), else from the cache, downloading what it lacks."""
    files = registry_files(provinces)
    folder = mirror_from_env(mirror)
    if folder is not None:
        return scan_mirror(folder, files)
    return fetch_files(files, cache_dir(), progress=progress)
