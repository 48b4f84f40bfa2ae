"""Registry load: per-file provenance, file-level problems reported, the rest loaded."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path

from chainatlas.sources.registry import HEADER
from chainatlas.sources.registry_files import RegistryFile, scan_mirror
from chainatlas.sources.registry_ingest import ingest_registry, link_branches
from chainatlas.store import Database
from tests.helpers import add_firm
from tests.helpers import valid_uscc as uscc

NOW = dt.datetime(2026, 1, 1)


PARENT = uscc("91130100MA0000001")
BRANCH = uscc("91130100MA0000002")
OTHER = uscc("91130100MA0000003")
CUT = uscc("91130100MA0000004")


def line(name: str, code: str, capital: str, city: str, address: str) -> str:
    return (f'{name},{code},2001-05-17,有限责任公司,张三,"{capital}","生产：片剂、胶囊剂",'
            f'河北,{city},"{address}"\n')


def write(folder: Path, path: str, text: str, encoding: str = "utf-8",
          gz: bool = True) -> RegistryFile:
    data = text.encode(encoding)
    target = folder / "registry" / "csv" / (path + (".gz" if gz else ""))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(data) if gz else data)
    return RegistryFile(path, hashlib.sha256(data).hexdigest())


def test_a_mirror_with_every_file_problem_loads_the_good_rows(tmp_path: Path) -> None:
    header = ",".join(HEADER) + "\n"
    good = write(tmp_path, "2001/河北.csv", header
                 + line("华北制药股份有限公司", PARENT, "300(万元人民币)", "石家庄",
                        "河北省石家庄市长安区和平东路")
                 + line("华北制药股份有限公司石家庄分公司", BRANCH, "18(万美元)", "石家庄",
                        "石家庄市桥西区")
                 + line("末行被截断的公司", CUT, "503(万元人民币)", "唐山", "唐山市路南区")
                 .rstrip("\n"))
    gbk = write(tmp_path, "2002/河北.csv", header + line("乙公司", OTHER, "50(万元)", "保定",
                                                        "保定市"), encoding="gbk")
    gbk = RegistryFile(gbk.path, None)  # unpinned, so the encoding is what refuses it
    bad_header = write(tmp_path, "2003/河北.csv", "name,code\n甲,乙\n", gz=False)
    pinned_wrong = write(tmp_path, "2004/河北.csv", header)
    pinned_wrong = RegistryFile(pinned_wrong.path, "0" * 64)
    missing = RegistryFile("2000/河北.csv", None)
    db = Database()
    scan = scan_mirror(tmp_path, [good, gbk, bad_header, pinned_wrong, missing])
    with db.transaction():
        report = ingest_registry(db, scan, NOW)
    assert report.firms_stored == 2 and report.files_loaded == 1
    assert sorted(report.files_skipped) == ["2000/河北.csv", "2002/河北.csv", "2003/河北.csv",
                                            "2004/河北.csv"]
    assert report.issues == {"truncated": 1, "not_utf8": 1, "bad_header": 1,
                             "hash_mismatch": 1, "missing_file": 1}
    firms = {r["full_name"]: r for r in db.rows(
        "SELECT * FROM companies WHERE origin = 'registry'")}
    parent, branch = firms["华北制药股份有限公司"], firms["华北制药股份有限公司石家庄分公司"]
    assert parent["city_adcode"] == "130100" and parent["region_adcode"] == "130102"
    assert parent["location_source"] == "registry+address"
    assert branch["is_branch"] and branch["parent_id"] == parent["company_id"]
    assert branch["capital_currency"] == "USD" and branch["capital_amount"] == 18.0
    assert round(branch["registered_capital"], 2) == round(18 * 8.2768, 2)
    sources = {r["file"]: r for r in db.rows("SELECT * FROM sources")}
    assert sources["registry/2001/河北.csv"]["rows_read"] == 3
    assert sources["registry/2001/河北.csv"]["rows_stored"] == 2
    kinds = {r[0] for r in db.execute("SELECT kind FROM ingest_issues").fetchall()}
    assert "truncated" in kinds and "missing_file" in kinds


def test_build_with_the_registry_classifies_by_rules_and_rebuilds_cleanly(
        tmp_path: Path) -> None:
    from chainatlas.build import build_store
    from chainatlas.store.stats import REGISTRY_LICENCE, stats_from_db
    from tests.helpers import make_bundle, unpinned_bundle

    bundle = unpinned_bundle(make_bundle(tmp_path / "bundle"))
    header = ",".join(HEADER) + "\n"
    spec = write(tmp_path, "2001/河北.csv", header
                 + line("石家庄某制药厂", PARENT, "300(万元人民币)", "石家庄", "石家庄市长安区")
                 + line("石家庄某物业管理有限公司", OTHER, "50(万元)", "石家庄", "石家庄市")
                 .replace("生产：片剂、胶囊剂", "物业管理；房屋租赁"))
    scan = scan_mirror(tmp_path, [spec])
    db = Database()
    report = build_store(db, bundle, registry=scan)
    assert report.registry is not None and report.registry.firms_stored == 2
    placed = {r[0] for r in db.execute(
        "SELECT DISTINCT c.full_name FROM firm_nodes f JOIN companies c USING (company_id) "
        "WHERE c.origin = 'registry'").fetchall()}
    assert placed == {"石家庄某制药厂"}  # the property manager is placed nowhere
    stats = stats_from_db(db)
    assert stats["registry"]["firms"] == 2 and stats["registry"]["licence"] == REGISTRY_LICENCE
    before = db.table_counts()
    build_store(db, bundle, registry=scan)
    assert db.table_counts() == before


def test_a_city_column_contradicted_by_address_and_uscc_yields_to_them() -> None:
    import pandas as pd

    from chainatlas.sources.registry_ingest import locate

    frame = pd.DataFrame([
        {"province_name": "河北", "city_name": "石家庄", "address": "张家口桥西区五墩经济开发区",
         "uscc": uscc("91130703MA0000005")},  # filed under 石家庄, is in 张家口
        {"province_name": "河北", "city_name": "石家庄", "address": "张家口桥西区某路",
         "uscc": uscc("91130100MA0000006")},  # the code agrees with the column: keep it
        {"province_name": "河北", "city_name": None, "address": "石家庄市长安区",
         "uscc": None}])
    got = locate(frame)
    assert list(got["city_adcode"]) == ["130700", "130100", "130100"]
    assert list(got["location_source"]) == ["address+uscc", "registry", "address"]


def test_a_registry_firm_that_is_a_listed_firm_counts_once(tmp_path: Path) -> None:
    from chainatlas.build import build_store
    from tests.helpers import make_bundle, unpinned_bundle

    bundle = unpinned_bundle(make_bundle(tmp_path / "bundle"))
    header = ",".join(HEADER) + "\n"
    spec = write(tmp_path, "2001/河北.csv", header
                 + line("华北制药股份有限公司", PARENT, "300(万元人民币)", "石家庄",
                        "石家庄市长安区")
                 + line("石家庄某制药厂", OTHER, "50(万元)", "石家庄", "石家庄市"))
    db = Database()
    build_store(db, bundle, registry=scan_mirror(tmp_path, [spec]))
    twin = db.rows("SELECT c.same_as, l.short_name FROM companies c JOIN companies l "
                   "ON l.company_id = c.same_as WHERE c.origin = 'registry'")
    assert twin == [{"same_as": twin[0]["same_as"], "short_name": "华北制药"}]
    registry_on_chains = {r[0] for r in db.execute(
        "SELECT DISTINCT c.full_name FROM chain_firms f JOIN companies c USING (company_id) "
        "WHERE c.origin = 'registry'").fetchall()}
    assert registry_on_chains == {"石家庄某制药厂"}  # the twin is counted as the listed firm


def test_a_branch_of_a_listed_firm_with_a_registry_twin_links_to_the_listed_firm() -> None:
    db = Database()
    rows = [("002410.SZ", "listed", "广联达科技股份有限公司", False, None),
            ("R_TWIN", "registry", "广联达科技股份有限公司", False, None),
            ("R_BRANCH", "registry", "广联达科技股份有限公司石家庄分公司", True,
             "广联达科技股份有限公司"),
            ("R_A1", "registry", "同名商贸有限公司", False, None),
            ("R_A2", "registry", "同名商贸有限公司", False, None),
            ("R_A_BRANCH", "registry", "同名商贸有限公司保定分公司", True, "同名商贸有限公司")]
    for cid, origin, name, branch, parent in rows:
        add_firm(db, cid)
        db.execute("UPDATE companies SET origin = ?, full_name = ?, is_branch = ?, "
                   "parent_name = ? WHERE company_id = ?", [origin, name, branch, parent, cid])
    link_branches(db)
    linked = dict(db.execute("SELECT company_id, parent_id FROM companies "
                             "WHERE is_branch").fetchall())
    # the listed firm, not its twin; two unlisted firms of one name stay ambiguous
    assert linked == {"R_BRANCH": "002410.SZ", "R_A_BRANCH": None}
