"""Shared test helpers: the small quirk-laden bundle, hand-made firms, the real mirror."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import openpyxl

from chainatlas.sources.fetch import BUNDLE, FetchedFile, read_mirror
from chainatlas.sources.roster_values import uscc_check_digit
from chainatlas.store import Database

REPO = Path(__file__).resolve().parents[1]


def load_benchmark(name: str) -> ModuleType:
    """A benchmark module, imported as the scripts import each other (benchmarks/ on the
    path: it is no package)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
#: The web app's entry file, for NiceGUI's simulated user (``user_simulation``).
WEB_MAIN = REPO / "src" / "chainatlas" / "web" / "main.py"
NOW = dt.datetime(2026, 1, 1)

COMPANIES = [
    {"name": "以岭药业", "fullname": "石家庄以岭药业股份有限公司", "code": "002603.SZ",
     "location": "深圳证券交易所", "time": "2011-07-28"},
    # the same firm again without a suffix: merged
    {"name": "以岭药业", "fullname": "石家庄以岭药业股份有限公司", "code": "002603",
     "location": "深圳证券交易所", "time": "2011-07-28"},
    {"name": "华北制药", "fullname": "华北制药股份有限公司", "code": "600812.SH",
     "location": "上海证券交易所", "time": "1994-01-14"},
    # exchange field holds a date
    {"name": "鼎龙股份", "fullname": "湖北鼎龙控股股份有限公司", "code": "300054.SZ",
     "location": "2010-02-11", "time": "2010-02-11"},
    # a STAR-market code with another firm's full name and an impossible date
    {"name": "京源环保", "fullname": "江苏京源环保股份有限公司", "code": "688096",
     "location": "上海证券交易所", "time": "2020-04-09"},
    {"name": "京源环保", "fullname": "大连港股份有限公司", "code": "688096",
     "location": "上海证券交易所", "time": "2010-12-06"},
    {"name": "通光线缆", "fullname": "江苏通光电子线缆股份有限公司", "code": "300265.SZ",
     "location": "深圳证券交易所", "time": "2011-09-09"},
]
INDUSTRIES = [("370000", "医药生物"), ("370100", "化学制药"), ("370101", "原料药"),
              ("370102", "化学制剂"), ("270000", "电子"), ("270100", "半导体")]
COMPANY_PRODUCTS = [
    ("以岭药业", "002603.SZ", "专利中药", 0.8), ("以岭药业", "002603.SZ", "化学药", 0.15),
    ("以岭药业", "002603.SZ", "分部间抵销", -0.05),
    ("以岭药业", "002603.SZ", "化学药", 0.1),  # listed twice: merged
    ("华北制药", "600812.SH", "原料药", 0.5), ("华北制药", "600812.SH", "制剂", 0.5),
    ("通光线缆", "300265.SZ", "光纤复合\n架空地线\n", 0.4),
    ("鼎龙股份", "300054.SZ", "彩色聚合碳粉", 0.6),
    ("未知公司", "999999.SZ", "神秘产品", 1.0),  # unknown firm: rejected
]
PRODUCT_PRODUCT = [
    ("制剂", "原料药", "上游材料"), ("原料药", "医药中间体", "上游材料"),
    ("专利中药", "中药材", "上游材料"), ("化学药", "化学药", "上游材料"),  # self: rejected
    ("光纤复合架空地线", "光纤", "上游材料"), ("中药", "专利中药", "产品小类"),
]


def _jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")


def make_bundle(folder: Path) -> Path:
    """Write a small bundle with the layout and the quirks of the real open data."""
    kg = folder / "chainkg"
    _jsonl(kg / "company.json", COMPANIES)
    _jsonl(kg / "industry.json", [{"code": c, "name": n} for c, n in INDUSTRIES])
    _jsonl(kg / "industry_industry.json", [
        {"from_code": c, "from_industry": n, "rel": "上级行业",
         "to_code": c[:4] + "00" if not c.endswith("00") else c[:2] + "0000", "to_industry": ""}
        for c, n in INDUSTRIES if not c.endswith("0000")])
    _jsonl(kg / "industry_up.json", [{"industry": "化学制剂", "ups": {"原料药": 3, "不存在": 1}}])
    _jsonl(kg / "company_industry.json", [
        {"company_code": "002603.SZ", "industry_code": "370102", "industry_name": "化学制剂",
         "company_name": "以岭药业", "rel": "所属行业"},
        {"company_code": "600812.sh", "industry_code": "370101", "industry_name": "原料药",
         "company_name": "华北制药", "rel": "所属行业"},
        {"company_code": "300054.SZ", "industry_code": "270108", "industry_name": "半导体材料",
         "company_name": "鼎龙股份", "rel": "所属行业"}])
    names = {p for _, _, p, _ in COMPANY_PRODUCTS} | {p for a, b, _ in PRODUCT_PRODUCT
                                                      for p in (a, b)}
    _jsonl(kg / "product.json", [{"name": n} for n in sorted(names)])
    _jsonl(kg / "company_product.json", [
        {"company_name": a, "company_code": b, "product_name": p, "rel": "主营产品",
         "rel_weight": w} for a, b, p, w in COMPANY_PRODUCTS])
    _jsonl(kg / "product_product.json", [
        {"from_entity": a, "to_entity": b, "rel": r} for a, b, r in PRODUCT_PRODUCT])
    listed = folder / "listed-companies"
    listed.mkdir(parents=True, exist_ok=True)
    tushare = {"ts_code": ["002603.SZ", "600812.SH"], "province": ["河北", "河北"],
               "city": ["石家庄市", "石家庄市"], "reg_capital": [167000.0, 163000.0],
               "setup_date": ["20010918", "19921023"], "employees": [9000.0, 8000.0]}
    columns = {k: dict(enumerate(v)) for k, v in tushare.items()}
    (listed / "stock_company.json").write_text(json.dumps(columns, ensure_ascii=False))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["板块", "公司全称", "注册地址", "A股代码", "A股上市日期",
                  "省    份", "城     市"])
    sheet.append(["主板", "石家庄以岭药业股份有限公司", "河北省石家庄市高新区天山大街238号",
                  "002603", "2011-07-28", "河北", "石家庄市"])
    sheet.append(["创业板", "湖北鼎龙控股股份有限公司", "湖北省武汉市经济技术开发区东荆河路1号",
                  "300054", "2010-02-11", "湖北", "武汉市"])
    book.save(listed / "szse_a_list.xlsx")
    gbt = folder / "gbt4754"
    gbt.mkdir(parents=True, exist_ok=True)
    classes = [("C", "", "1", "制造业"), ("27", "C", "2", "医药制造业 "),
               ("2710", "27", "4", "化学药品原料药制造"), ("2740", "27", "4", "中成药生产"),
               ("2761", "27", "4", "生物药品制造"),
               ("39", "C", "2", "计算机、通信和其他电子设备制造业"),
               ("3973", "39", "4", "集成电路制造")]
    entries = []
    for code, parent, level, name in classes:
        parts = {"1": ("C", "", "", ""), "2": ("C", code, "", ""),
                 "4": ("C", parent, code[:3], code)}[level]
        entries.append(f"  {{ class4: '{parts[3]}', class3: '{parts[2]}', level: '{level}', "
                       f"class2: '{parts[1]}', class1: '{parts[0]}', name: '{name}', "
                       "remark: '指…的生产活动' }")
    (gbt / "category.js").write_text("[\n" + ",\n".join(entries) + "\n];\n", encoding="utf-8")
    return folder


def unpinned_bundle(folder: Path) -> list[FetchedFile]:
    """Read a bundle folder whose files are not the pinned upstream bytes."""
    return read_mirror(folder, [dataclasses.replace(f, sha256=None) for f in BUNDLE])



def built_store(folder: Path, bundle: Callable[[Path], Path] | None = None) -> Path:
    """A store file built in ``folder`` from ``bundle`` (default: the small bundle): the
    on-disk store a module builds once and its tests copy before changing it."""
    from chainatlas.build import build_store  # the library's top: only for tests that build

    path = folder / "store.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle((bundle or make_bundle)(folder / "bundle")))
    return path


def copy_store(built: Path, folder: Path) -> Path:
    """A copy of a built store in ``folder`` that one test may change or damage."""
    target = folder / "store.duckdb"
    shutil.copy(built, target)
    return target


def mirror_path() -> Path | None:
    """The real open-data mirror ($CHAINATLAS_MIRROR or ../shared/data), if present."""
    env = os.environ.get("CHAINATLAS_MIRROR")
    folder = Path(env) if env else REPO.parent / "shared" / "data"
    return folder if (folder / "chainkg" / "company.json").is_file() else None


def add_firm(db: Database, cid: str, *, shenwan: str | None = None, gbt: str | None = None,
             scope: str | None = None, products: dict[str, float] | None = None) -> None:
    db.execute("INSERT INTO companies (company_id, origin, short_name, industry_gbt, "
               "business_scope, source_id, updated_at) VALUES (?, 'roster', ?, ?, ?, 1, ?)",
               [cid, cid, gbt, scope, NOW])
    if shenwan:
        db.execute("INSERT INTO company_industries VALUES (?, 'sw2021', ?, 1)", [cid, shenwan])
    for name, share in (products or {}).items():
        pid = db.scalar("SELECT product_id FROM products WHERE name = ?", [name])
        if pid is None:
            pid = int(db.scalar("SELECT coalesce(max(product_id), 0) + 1 FROM products"))
            db.execute("INSERT INTO products VALUES (?, ?, 'product', 1)", [pid, name])
        db.execute("INSERT INTO company_products VALUES (?, ?, ?, ?, 1)",
                   [cid, pid, share, share < 0])


def valid_uscc(body: str) -> str:
    """A valid USCC from its first 17 characters."""
    return body + uscc_check_digit(body)


def regno(body: str) -> str:
    """A valid 15-digit registration number from its first 14 digits (ISO 7064 MOD 11,10,
    written independently of the code under test)."""
    p = 10
    for digit in body:
        p = (p + int(digit)) % 10
        p = (10 if p == 0 else p) * 2 % 11
    return body + str((11 - p) % 10)


XSS = "<script>alert(1)</script>"
XSS_ID = "300999.SZ"


def web_bundle(folder: Path) -> Path:
    """The tests' small bundle plus a firm in Wuhan whose name is a script tag."""
    make_bundle(folder)
    kg = folder / "chainkg"
    with (kg / "company.json").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"name": XSS, "fullname": XSS + "股份有限公司", "code": XSS_ID,
                              "location": "深圳证券交易所", "time": "2015-05-05"},
                             ensure_ascii=False) + "\n")
    with (kg / "company_product.json").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"company_name": XSS, "company_code": XSS_ID,
                              "product_name": "原料药", "rel": "主营产品", "rel_weight": 0.7},
                             ensure_ascii=False) + "\n")
    listed = folder / "listed-companies" / "stock_company.json"
    columns = json.loads(listed.read_text(encoding="utf-8"))
    row = {"ts_code": XSS_ID, "province": "湖北", "city": "武汉市", "reg_capital": 50000.0,
           "setup_date": "20080101", "employees": 1200.0}
    index = str(len(columns["ts_code"]))
    for key, value in row.items():
        columns[key][index] = value
    listed.write_text(json.dumps(columns, ensure_ascii=False), encoding="utf-8")
    return folder
