"""The synthetic registry (chainatlas.pipeline.synth): pools built from a sample of the
real registry files, then 20,000 firms generated, checked against the in-process readers
that define their truth. Needs the open-data mirror (skipped without it)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from stdnum.cn import uscc

from chainatlas.chains.matcher import ScopeMatcher
from chainatlas.chains.scope_rules import ScopeReader
from chainatlas.chains.templates import load_templates
from chainatlas.errors import ParameterError
from chainatlas.pipeline.synth import (
    OUTPUT_COLUMNS,
    USCC_ALPHABET,
    Pools,
    SynthReport,
    registry_files,
    synth_pools,
    synth_registry,
)
from tests.helpers import mirror_path

FIRMS = 20_000
SAMPLE_FILES = 12
SAMPLE_ROWS = 600


@pytest.fixture(scope="module")
def mirror() -> Path:
    folder = mirror_path()
    if folder is None or not (folder / "registry" / "csv").is_dir():
        pytest.skip("no open-data mirror with the registry: set CHAINATLAS_MIRROR")
    return folder


@pytest.fixture(scope="module")
def pools(mirror: Path) -> Pools:
    return synth_pools(mirror, sample_files=SAMPLE_FILES)


@pytest.fixture(scope="module")
def reader() -> ScopeReader:
    return ScopeReader(load_templates())


def generate(pools: Pools, folder: Path, seed: int) -> tuple[SynthReport, pd.DataFrame]:
    report = synth_registry(folder, FIRMS, pools, seed=seed, files=2)
    con = duckdb.connect()
    try:
        frame = con.execute("SELECT * FROM read_parquet(?) ORDER BY row_id",
                            [str(folder / "*.parquet")]).df()
    finally:
        con.close()
    return report, frame


@pytest.fixture(scope="module")
def run(pools: Pools, tmp_path_factory: pytest.TempPathFactory
        ) -> tuple[SynthReport, pd.DataFrame, Path]:
    folder = tmp_path_factory.mktemp("synth")
    return (*generate(pools, folder, seed=1), folder)


def sample(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[:: len(frame) // SAMPLE_ROWS]


def test_rows_files_columns_and_types(run: tuple[SynthReport, pd.DataFrame, Path]) -> None:
    report, frame, folder = run
    assert report.rows == len(frame) == FIRMS
    assert sorted(p.name for p in folder.glob("*.parquet")) == ["part-00000.parquet",
                                                                "part-00001.parquet"]
    assert not (folder / "_spill").exists()
    con = duckdb.connect()
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                             "read_parquet(?))", [str(folder / "*.parquet")]).fetchall())
    con.close()
    assert list(types) == list(OUTPUT_COLUMNS)
    assert types.pop("row_id") == "BIGINT"
    assert set(types.values()) == {"VARCHAR"}
    assert frame["row_id"].tolist() == list(range(1, FIRMS + 1))
    assert frame.drop(columns="row_id").notna().all().all()


def test_uscc_valid_except_the_deliberate_bad_ones(
        run: tuple[SynthReport, pd.DataFrame, Path], pools: Pools) -> None:
    report, frame, _ = run
    shape = re.compile(f"^91[0-9]{{6}}[{USCC_ALPHABET}]{{10}}$")
    assert all(shape.match(code) for code in frame["code"])
    assert set(frame["code"].str[2:8]) <= set(pools.cities["adcode"])
    bad = [code for code in frame["code"] if not uscc.is_valid(code)]
    assert len(bad) == report.quirks["bad_check_digit"]
    assert 0.006 * FIRMS < len(bad) < 0.015 * FIRMS
    # Only the check digit is wrong: the right one makes each valid again.
    assert all(uscc.is_valid(c[:17] + uscc.calc_check_digit(c[:17])) for c in bad)


def test_duplicates_are_exact_copies(run: tuple[SynthReport, pd.DataFrame, Path]) -> None:
    report, frame, _ = run
    dups = report.quirks["duplicate_rows"]
    assert 0.003 * FIRMS < dups < 0.008 * FIRMS
    assert FIRMS - frame["code"].nunique() == dups
    copies = frame[frame.duplicated("code", keep=False)].drop(columns="row_id")
    assert len(copies.drop_duplicates()) == copies["code"].nunique()


def test_na_cells_and_spaced_names(run: tuple[SynthReport, pd.DataFrame, Path]) -> None:
    report, frame, _ = run
    for column in ("city", "address", "legal_rep", "type", "capital", "date"):
        assert report.quirks[f"na_{column}"] == int((frame[column] == "N/A").sum())
    assert 0 < report.quirks["na_city"] < 0.01 * FIRMS
    assert report.quirks["spaced_name"] == int(frame["name"].str.contains(" ").sum()) > 0
    addresses = frame[frame["address"] != "N/A"]
    assert all(a.startswith(p) and a.endswith("号") for a, p in zip(
        addresses["address"], addresses["province"], strict=True))


def test_city_distribution_follows_the_pool(run: tuple[SynthReport, pd.DataFrame, Path],
                                            pools: Pools) -> None:
    _, frame, _ = run
    pool_top = list(zip(pools.cities["province"], pools.cities["city"], strict=True))
    made = frame[frame["city"] != "N/A"].groupby(["province", "city"]).size()
    made_top = list(made.sort_values(ascending=False).index)
    assert set(made_top[:5]) <= set(pool_top[:10])
    assert set(pool_top[:3]) <= set(made_top[:10])
    share = pools.cities["weight"].iloc[0] / pools.cities["weight"].sum()
    assert made[pool_top[0]] / made.sum() == pytest.approx(share, rel=0.15)


def test_true_nodes_exist_and_every_pool_node_appears(
        run: tuple[SynthReport, pd.DataFrame, Path], pools: Pools) -> None:
    _, frame, _ = run
    templates = load_templates()
    truths = set(zip(frame["true_chain_id"], frame["true_node_id"], strict=True))
    assert all(node in {n.id for n in templates[chain].nodes} for chain, node in truths)
    assert truths == set(zip(pools.on_node["chain_id"], pools.on_node["node_id"], strict=True))
    assert len(truths) > 150


def test_first_clause_is_read_on_the_true_node(run: tuple[SynthReport, pd.DataFrame, Path],
                                               reader: ScopeReader) -> None:
    _, frame, _ = run
    for row in sample(frame).itertuples():
        first = re.split("[；;。]", row.scope)[0]
        assert set(reader.read(first)) == {(row.true_chain_id, row.true_node_id)}, row.scope


def test_whole_firm_is_read_on_the_true_node(run: tuple[SynthReport, pd.DataFrame, Path],
                                             reader: ScopeReader) -> None:
    """Scope and name together: the node with the most clause weight is the truth (the
    rest of the scope and the name are built not to move it)."""
    _, frame, _ = run
    rows = sample(frame)
    right = 0
    for row in rows.itertuples():
        hits = reader.read(row.scope, row.name)
        score = {key: sum(h.weight for h in found) for key, found in hits.items()}
        right += max(score, key=lambda k: score[k]) == (row.true_chain_id, row.true_node_id)
    assert right >= 0.97 * len(rows)


def test_scope_shapes(run: tuple[SynthReport, pd.DataFrame, Path]) -> None:
    report, frame, _ = run
    side = frame["scope"].str.contains("兼营：")
    assert int(side.sum()) == report.shapes["side_line"]
    assert 0.07 * FIRMS < side.sum() < 0.13 * FIRMS
    assert report.shapes["second_clause"] > 0.1 * FIRMS
    assert frame["scope"].str.contains("依法须经批准").sum() > 0.02 * FIRMS


def test_pools_off_chain_boilerplate_and_composed(pools: Pools, reader: ScopeReader) -> None:
    matcher = ScopeMatcher(load_templates())
    for clause in pools.off_chain["clause"].iloc[::20]:
        assert not matcher.match(clause) and not reader.read(clause), clause
    assert pools.boilerplate["clause"].str.contains("依法须经批准").any()
    composed = pools.on_node[pools.on_node["composed"]]
    assert len(composed) > 0
    for row in composed.iloc[::10].itertuples():
        assert set(reader.read(row.clause)) == {(row.chain_id, row.node_id)}
    assert pools.source["files"] == SAMPLE_FILES and pools.source["rows"] > 1000
    # Names are mixed from pieces: legal reps are surname + given characters.
    assert len(pools.surnames) > 50 and len(pools.given_chars) > 200


def test_deterministic_for_a_seed(pools: Pools, run: tuple[SynthReport, pd.DataFrame, Path],
                                  tmp_path: Path) -> None:
    report, frame, _ = run
    again_report, again = generate(pools, tmp_path / "again", seed=1)
    pd.testing.assert_frame_equal(frame, again)
    assert again_report.quirks == report.quirks
    _, other = generate(pools, tmp_path / "other", seed=2)
    assert (other["code"] == frame["code"]).mean() < 0.01
    assert (other["scope"] == frame["scope"]).mean() < 0.2


def test_bad_parameters(pools: Pools, mirror: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        synth_registry(tmp_path, 0, pools)
    with pytest.raises(ParameterError):
        synth_registry(tmp_path, 10, pools, files=11)
    with pytest.raises(ParameterError):
        registry_files(mirror, 0)
    assert len(registry_files(mirror, 5)) == 5
