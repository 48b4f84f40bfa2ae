"""Open-data acquisition: pinned hashes, mirrors, offline behaviour."""

from __future__ import annotations

import dataclasses
import shutil
import urllib.error
from pathlib import Path

import pytest

from chainatlas.errors import DataSourceError
from chainatlas.sources import fetch
from chainatlas.sources.fetch import file_sha256


def _specs(bundle: Path) -> list[fetch.DataFile]:
    return [dataclasses.replace(f, sha256=file_sha256(bundle / f.path)) for f in fetch.BUNDLE]


def test_fetch_downloads_verifies_and_caches(mini_bundle: Path, tmp_path: Path) -> None:
    calls: list[str] = []
    by_url = {f.url: mini_bundle / f.path for f in fetch.BUNDLE}

    def download(url: str, target: Path) -> None:
        calls.append(url)
        shutil.copyfile(by_url[url], target)

    specs = _specs(mini_bundle)
    files = fetch.fetch_bundle(specs, target=tmp_path / "cache", download=download)
    assert len(files) == len(specs) and all(f.verified for f in files)
    assert (tmp_path / "cache" / "chainkg" / "company.json").is_file()
    fetch.fetch_bundle(specs, target=tmp_path / "cache", download=download)
    assert len(calls) == len(specs)  # second fetch hits the cache


def test_hash_mismatch_writes_nothing(mini_bundle: Path, tmp_path: Path) -> None:
    specs = _specs(mini_bundle)
    specs[3] = dataclasses.replace(specs[3], sha256="0" * 64)
    by_url = {f.url: mini_bundle / f.path for f in fetch.BUNDLE}
    with pytest.raises(DataSourceError, match="does not match the pinned"):
        fetch.fetch_bundle(specs, target=tmp_path / "cache",
                           download=lambda u, t: shutil.copyfile(by_url[u], t))
    assert not (tmp_path / "cache").exists()


def test_offline_without_mirror_says_what_to_do(tmp_path: Path) -> None:
    def offline(url: str, target: Path) -> None:
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(DataSourceError, match="--mirror DIR"):
        fetch.fetch_bundle(target=tmp_path / "cache", download=offline)
    assert not (tmp_path / "cache").exists()


def test_mirror_missing_file(mini_bundle: Path) -> None:
    (mini_bundle / "gbt4754" / "category.js").unlink()
    with pytest.raises(DataSourceError, match=r"gbt4754/category\.js"):
        fetch.read_mirror(mini_bundle)


def test_real_mirror_matches_pins() -> None:
    from tests.helpers import mirror_path

    folder = mirror_path()
    if folder is None:
        pytest.skip("no open-data mirror")
    files = fetch.read_mirror(folder)
    assert sum(f.verified for f in files) == len(fetch.BUNDLE) - 2  # two rebuilt files
