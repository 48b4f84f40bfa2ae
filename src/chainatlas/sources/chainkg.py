"""Ingest the ChainKnowledgeGraph (A-share firms, Shenwan industries, products).

The data is real and messy; each quirk is handled here and every row that is not stored
as it came is written to ``ingest_issues`` with the reason:

- stock codes written as ``000001`` and ``000001.SZ`` (and ``.sz``) name one firm;
- 53 codes appear on several rows (renames, and a few rows whose full name belongs to
  another firm): one row is kept, the other names become former names or are rejected;
- one row's exchange field holds a date, two rows' listing dates hold an exchange name;
- product names with embedded newlines, control characters or stray quotes are folded;
- negative revenue shares (segment eliminations such as 分部间抵销) are kept and flagged;
- accounting lines and generic products (平衡项目, 系统, 材料) are flagged, not dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import pandas as pd

from chainatlas.sources.fetch import FetchedFile
from chainatlas.sources.staging import (
    Issue,
    json_field,
    name_sql,
    record_issues,
    record_issues_sql,
    stage_jsonl,
)
from chainatlas.store import Database
from chainatlas.store.lookup import normalise_stock_code
from chainatlas.store.query import Q, compose

SW = "sw2021"

# Board opening dates: a listing date before its board opened is impossible.
_BOARD_OPENED = {"688": "2019-07-22", "689": "2019-07-22", "300": "2009-10-30",
                 "301": "2020-08-24"}
_NAME_PREFIX = re.compile(r"^(\*?S?\*?ST|退市|XD|XR|DR|N|C)")

# Revenue-breakdown lines that are accounting, not products.
ACCOUNTING_ITEMS = frozenset({
    "平衡项目", "分部间抵销", "调整项目", "抵销", "合并抵销", "内部抵销", "分部间抵消",
    "其他", "其他业务", "其他(补充)", "补充", "合计", "总计", "主营业务", "其他业务收入",
})
# Products too generic to place a firm on a chain node by themselves.
GENERIC_PRODUCTS = frozenset({
    "系统", "材料", "设备", "产品", "服务", "销售", "贸易", "商品", "配件", "工程",
    "技术服务", "材料销售", "商品销售", "销售商品", "租赁", "租金", "加工", "其他产品",
})

_CP_NAME = name_sql(json_field("product_name"))
_PP_FROM = name_sql(json_field("from_entity"))
_PP_TO = name_sql(json_field("to_entity"))
_P_NAME = name_sql(json_field("name"))


@dataclass(frozen=True)
class ChainKGFiles:
    """The chainkg files of the bundle, by role."""

    company: FetchedFile
    company_industry: FetchedFile
    company_product: FetchedFile
    industry: FetchedFile
    industry_industry: FetchedFile
    industry_up: FetchedFile
    product: FetchedFile
    product_product: FetchedFile


def _name_consistency(short: str, full: str | None) -> float:
    """Share of the short name's characters found in the full name (renames score low)."""
    if not full:
        return 0.0
    core = _NAME_PREFIX.sub("", short.replace(" ", "")) or short
    return sum(ch in full for ch in core) / max(len(core), 1)


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _plausible(code: str, listed: dt.date | None) -> bool:
    opened = _BOARD_OPENED.get(code[:3])
    return listed is None or opened is None or listed >= dt.date.fromisoformat(opened)


def companies_from_rows(rows: list[dict[str, object]]) -> tuple[pd.DataFrame, list[Issue],
                                                                  pd.DataFrame]:
    """Merge raw company rows into one row per firm.

    Returns the companies, the issues, and the names table (short, full and former names).
    """
    groups: dict[str, list[dict[str, object]]] = {}
    issues: list[Issue] = []
    for row in rows:
        code = normalise_stock_code(str(row.get("code") or ""))
        if code is None:
            issues.append(Issue(int(str(row["line"])), "code", "bad_code", "rejected",
                                f"no six-digit stock code in {row.get('code')!r}"))
            continue
        groups.setdefault(code, []).append(row)
    companies, names = [], []
    for code, group in groups.items():
        company, group_issues, group_names = _merge_group(code, group)
        companies.append(company)
        issues += group_issues
        names += group_names
    return pd.DataFrame(companies), issues, pd.DataFrame(names)


def _merge_group(code: str, group: list[dict[str, object]]) -> tuple[
        dict[str, object], list[Issue], list[dict[str, object]]]:
    issues: list[Issue] = []

    def rank(row: dict[str, object]) -> tuple[bool, bool, int]:
        listed = _parse_date(str(row.get("time") or ""))
        ok = _name_consistency(str(row["name"]), str(row.get("fullname") or "")) >= 0.5
        return ok, _plausible(code, listed), -int(str(row["line"]))

    chosen = max(group, key=rank)
    line = int(str(chosen["line"]))
    short = str(chosen["name"]).strip()
    full: str | None = str(chosen.get("fullname") or "").strip() or None
    if _name_consistency(short, full) < 0.5:
        issues.append(Issue(line, "fullname", "full_name_suspect", "flagged",
                            f"full name {full!r} does not match short name {short!r}"))
        if len(group) > 1:
            full = None
    listed = _parse_date(str(chosen.get("time") or ""))
    if listed is None:
        issues.append(Issue(line, "time", "bad_listing_date", "repaired",
                            f"listing date {chosen.get('time')!r} is not a date; left empty"))
    elif not _plausible(code, listed):
        issues.append(Issue(line, "time", "implausible_listing_date", "repaired",
                            f"{listed} is before board {code[:3]} opened; left empty"))
        listed = None
    exchange_field = str(chosen.get("location") or "")
    if not exchange_field.endswith("交易所"):
        issues.append(Issue(line, "location", "bad_exchange", "repaired",
                            f"exchange field holds {exchange_field!r}; exchange taken "
                            f"from the code ({code[-2:]})"))
    names = [{"name": short, "kind": "short"}]
    if full:
        names.append({"name": full, "kind": "full"})
    for other in group:
        if other is chosen:
            continue
        other_full = str(other.get("fullname") or "").strip()
        consistent = _name_consistency(str(other["name"]), other_full) >= 0.5
        for kind, value in (("former", str(other["name"]).strip()), ("former", other_full)):
            if consistent and value and value not in {n["name"] for n in names}:
                names.append({"name": value, "kind": kind})
        issues.append(Issue(
            int(str(other["line"])), "code", "duplicate_company", "merged",
            f"{other.get('code')} {other['name']} / {other_full} merged into line {line}"
            + ("" if consistent else "; its full name belongs to another firm, dropped")))
    company: dict[str, object] = {"company_id": code, "stock_code": code[:6], "exchange": code[-2:],
               "short_name": short, "full_name": full, "listing_date": listed,
               "line": line}
    return company, issues, [dict(n, company_id=code) for n in names]


def ingest_industries(db: Database, files: ChainKGFiles, sources: dict[str, int]) -> None:
    """Load the three Shenwan 2021 levels."""
    sid = sources[files.industry.spec.path]
    stage_jsonl(db, files.industry, "stg_industry", ["code", "name"])
    stage_jsonl(db, files.industry_industry, "stg_industry_rel", ["from_code", "to_code"])
    db.execute(
        "INSERT INTO industries SELECT DISTINCT ON (code) ?, code, name, "
        "CASE WHEN code LIKE '%0000' THEN 1 WHEN code LIKE '%00' THEN 2 ELSE 3 END, "
        "parent, NULL, ? FROM (SELECT s.j->>'code' AS code, s.j->>'name' AS name, "
        "r.j->>'to_code' AS parent, s.line FROM stg_industry s LEFT JOIN stg_industry_rel r "
        "ON r.j->>'from_code' = s.j->>'code') ORDER BY code, line",
        [SW, sid],
    )


def ingest_industry_upstream(db: Database, files: ChainKGFiles,
                             sources: dict[str, int]) -> None:
    """Load which Shenwan industries supply which (counts of upstream mentions)."""
    up = files.industry_up
    stage_jsonl(db, up, "stg_industry_up", ["industry", "ups"])
    pairs = []
    names = dict(db.execute(
        "SELECT name, code FROM industries WHERE scheme = ? AND level = 3", [SW]).fetchall())
    # industry_up sometimes keeps the level suffix Ⅲ that industry.json dropped.
    for name, code in list(names.items()):
        names.setdefault(name + "Ⅲ", code)
    issues = []
    for line, raw in db.execute("SELECT line, j FROM stg_industry_up ORDER BY line").fetchall():
        obj = json.loads(raw)
        target = names.get(obj["industry"])
        for up_name, weight in (obj.get("ups") or {}).items():
            source = names.get(up_name)
            if target is None or source is None:
                missing = obj["industry"] if target is None else up_name
                issues.append(Issue(line, "ups", "unknown_industry", "rejected",
                                    f"industry name {missing!r} is not a Shenwan level-3 name"))
                continue
            pairs.append((target, source, int(weight), sources[up.spec.path]))
    frame = pd.DataFrame(pairs, columns=["industry_code", "upstream_code", "weight",
                                         "source_id"])
    db.insert_df("industry_upstream", frame.drop_duplicates(["industry_code", "upstream_code"]))
    record_issues(db, sources[up.spec.path], up.spec.path, issues)


def ingest_companies(db: Database, files: ChainKGFiles, sources: dict[str, int],
                     now: dt.datetime) -> pd.DataFrame:
    """Load listed firms (one per normalised code); return them for the location step."""
    spec = files.company.spec
    stage_jsonl(db, files.company, "stg_company", ["code", "name"])
    raw = db.df("SELECT line, j->>'code' AS code, j->>'name' AS name, "
                "j->>'fullname' AS fullname, j->>'location' AS location, "
                "j->>'time' AS time FROM stg_company ORDER BY line")
    records: list[dict[str, object]] = [
        {str(k): v for k, v in r.items()} for r in raw.to_dict("records")]
    companies, issues, names = companies_from_rows(records)
    record_issues(db, sources[spec.path], spec.path, issues)
    companies["origin"] = "listed"
    companies["source_id"] = sources[spec.path]
    companies["updated_at"] = now
    names["source_id"] = sources[spec.path]
    db.insert_df("company_names", names[["company_id", "name", "kind", "source_id"]])
    return companies


def ingest_company_industries(db: Database, files: ChainKGFiles,
                              sources: dict[str, int]) -> None:
    """Link firms to their Shenwan level-3 industry."""
    f = files.company_industry
    sid = sources[f.spec.path]
    stage_jsonl(db, f, "stg_ci", ["company_code", "industry_code"])
    db.execute(
        "CREATE OR REPLACE TEMP TABLE stg_ci2 AS SELECT line, "
        "CASE WHEN upper(j->>'company_code') LIKE '%.%' THEN upper(j->>'company_code') END "
        "AS company_id, j->>'company_code' AS raw_code, j->>'industry_code' AS code FROM stg_ci"
    )
    # Some firms carry Shenwan codes that industry.json lacks: keep them, named as the
    # firm's row names them, under their level-2 parent when that exists.
    record_issues_sql(db, sid, f.spec.path, Q(
        "SELECT min(line) AS line, 'industry_code' AS field, 'industry_added' AS kind, "
        "'repaired' AS action, 'Shenwan code ' || code || ' (' || any_value(name) || ') is "
        "not in industry.json; added at level 3' AS detail FROM (SELECT line, "
        "j->>'industry_code' AS code, j->>'industry_name' AS name FROM stg_ci) s "
        "WHERE NOT EXISTS (SELECT 1 FROM industries i WHERE i.scheme = 'sw2021' AND "
        "i.code = s.code) GROUP BY code"))
    db.execute(
        "INSERT INTO industries SELECT 'sw2021', code, any_value(name), 3, CASE WHEN "
        "left(code, 4) || '00' IN (SELECT code FROM industries WHERE scheme = 'sw2021') "
        "THEN left(code, 4) || '00' END, 'added from company_industry.json', ? FROM "
        "(SELECT j->>'industry_code' AS code, j->>'industry_name' AS name FROM stg_ci) s "
        "WHERE NOT EXISTS (SELECT 1 FROM industries i WHERE i.scheme = 'sw2021' AND "
        "i.code = s.code) GROUP BY code", [sid])
    # Codes without a suffix get one from the companies table (same six digits).
    db.execute("UPDATE stg_ci2 SET company_id = c.company_id FROM companies c "
               "WHERE stg_ci2.company_id IS NULL AND c.stock_code = left(stg_ci2.raw_code, 6)")
    record_issues_sql(db, sid, f.spec.path, Q(
        "SELECT line, 'company_code' AS field, 'unknown_company' AS kind, 'rejected' AS action,"
        " 'no firm with code ' || raw_code AS detail FROM stg_ci2 s WHERE NOT EXISTS "
        "(SELECT 1 FROM companies c WHERE c.company_id = s.company_id) UNION ALL "
        "SELECT line, 'industry_code', 'unknown_industry', 'rejected', "
        "'no Shenwan industry ' || code FROM stg_ci2 s WHERE NOT EXISTS (SELECT 1 FROM "
        "industries i WHERE i.scheme = 'sw2021' AND i.code = s.code) UNION ALL "
        "SELECT line, 'company_code', 'duplicate_link', 'merged', "
        "'same firm and industry as an earlier line' FROM (SELECT line, row_number() OVER "
        "(PARTITION BY company_id, code ORDER BY line) AS k FROM stg_ci2) WHERE k > 1"))
    db.execute(
        "INSERT INTO company_industries SELECT DISTINCT s.company_id, 'sw2021', s.code, ? "
        "FROM stg_ci2 s JOIN companies c USING (company_id) JOIN industries i "
        "ON i.scheme = 'sw2021' AND i.code = s.code", [sid])


def ingest_products(db: Database, files: ChainKGFiles, sources: dict[str, int]) -> None:
    """Load products, firm-product revenue shares and product-product relations."""
    stage_jsonl(db, files.product, "stg_product", ["name"])
    stage_jsonl(db, files.company_product, "stg_cp", ["product_name"])
    stage_jsonl(db, files.product_product, "stg_pp", ["from_entity", "to_entity", "rel"])
    sid_p = sources[files.product.spec.path]
    db.execute(compose(
        "CREATE OR REPLACE TEMP TABLE stg_cp2 AS SELECT line, {name} AS name, "
        "j->>'product_name' AS raw_name, j->>'company_code' AS raw_code, "
        "j->>'company_name' AS company_name, TRY_CAST(j->>'rel_weight' AS DOUBLE) AS w "
        "FROM stg_cp", name=_CP_NAME))
    db.execute(compose(
        "CREATE OR REPLACE TEMP TABLE stg_pp2 AS SELECT line, {a} AS a, {b} AS b, "
        "j->>'rel' AS rel FROM stg_pp", a=_PP_FROM, b=_PP_TO))
    db.execute(compose(
        "CREATE OR REPLACE TEMP TABLE stg_product2 AS SELECT line, j->>'name' AS raw, "
        "{name} AS name FROM stg_product", name=_P_NAME))
    db.execute(
        "INSERT INTO products SELECT row_number() OVER (ORDER BY name), name, "
        "CASE WHEN name IN (SELECT unnest(?)) THEN 'accounting' "
        "WHEN name IN (SELECT unnest(?)) OR length(name) < 2 THEN 'generic' "
        "ELSE 'product' END, ? FROM ("
        "SELECT name FROM stg_product2 UNION "
        "SELECT name FROM stg_cp2 UNION SELECT a FROM stg_pp2 UNION SELECT b FROM stg_pp2) "
        "WHERE name IS NOT NULL", [sorted(ACCOUNTING_ITEMS), sorted(GENERIC_PRODUCTS), sid_p])
    record_issues_sql(db, sid_p, files.product.spec.path, Q(
        "SELECT line, 'name' AS field, 'name_folded' AS kind, 'merged' AS action, "
        "'name ' || to_json(raw) || ' folds to an existing name ' || to_json(name) AS detail "
        "FROM (SELECT line, raw, name, row_number() OVER (PARTITION BY name ORDER BY line) "
        "AS k FROM stg_product2) WHERE k > 1 OR name IS NULL"))
    _ingest_company_products(db, files, sources)
    _ingest_product_relations(db, files, sources)


_RELATIONS = {"上游材料": "upstream_material", "下游产品": "downstream_product",
              "产品小类": "subclass"}


def _ingest_company_products(db: Database, files: ChainKGFiles,
                             sources: dict[str, int]) -> None:
    f = files.company_product
    sid = sources[f.spec.path]
    db.execute("ALTER TABLE stg_cp2 ADD COLUMN company_id VARCHAR")
    db.execute("UPDATE stg_cp2 SET company_id = upper(raw_code) WHERE raw_code LIKE '%.%'")
    db.execute("UPDATE stg_cp2 SET company_id = c.company_id FROM companies c "
               "WHERE stg_cp2.company_id IS NULL AND c.stock_code = left(stg_cp2.raw_code, 6)")
    # The older shape of this file has no company_code: match the short name when unique.
    db.execute(
        "UPDATE stg_cp2 SET company_id = n.company_id FROM (SELECT name, any_value(company_id) "
        "AS company_id FROM company_names GROUP BY name HAVING count(DISTINCT company_id) = 1) n "
        "WHERE stg_cp2.company_id IS NULL AND stg_cp2.raw_code IS NULL "
        "AND n.name = stg_cp2.company_name")
    db.execute(
        "CREATE OR REPLACE TEMP TABLE stg_cp3 AS SELECT s.*, p.product_id, row_number() OVER "
        "(PARTITION BY s.company_id, s.name ORDER BY abs(s.w) DESC NULLS LAST, s.line) AS k "
        "FROM stg_cp2 s JOIN companies c USING (company_id) JOIN products p ON p.name = s.name")
    record_issues_sql(db, sid, f.spec.path, Q(
        "SELECT line, 'company_code' AS field, 'unknown_company' AS kind, 'rejected' AS action,"
        " 'no firm with code ' || coalesce(raw_code, '') || ' / name ' || "
        "coalesce(company_name, '') AS detail FROM stg_cp2 s WHERE NOT EXISTS "
        "(SELECT 1 FROM companies c WHERE c.company_id = s.company_id) UNION ALL "
        "SELECT line, 'product_name', 'empty_name', 'rejected', 'product name ' || "
        "to_json(raw_name) || ' is empty once folded' FROM stg_cp2 WHERE name IS NULL "
        "AND company_id IN (SELECT company_id FROM companies) UNION ALL "
        "SELECT line, 'product_name', 'duplicate_link', 'merged', 'firm lists ' || "
        "to_json(name) || ' again; the row with the largest share is kept' FROM stg_cp3 "
        "WHERE k > 1 UNION ALL "
        "SELECT line, 'product_name', 'name_folded', 'repaired', to_json(raw_name) || ' -> ' "
        "|| to_json(name) FROM stg_cp3 WHERE k = 1 AND name <> raw_name UNION ALL "
        "SELECT line, 'rel_weight', CASE WHEN w < 0 THEN 'negative_share' ELSE "
        "'share_above_one' END, 'flagged', 'revenue share ' || w::VARCHAR || ' kept as given' "
        "FROM stg_cp3 WHERE k = 1 AND (w < 0 OR w > 1)"))
    db.execute(
        "INSERT INTO company_products SELECT company_id, product_id, w, coalesce(w < 0, false), "
        "? FROM stg_cp3 WHERE k = 1", [sid])


def _ingest_product_relations(db: Database, files: ChainKGFiles,
                              sources: dict[str, int]) -> None:
    f = files.product_product
    sid = sources[f.spec.path]
    db.execute(
        "CREATE OR REPLACE TEMP TABLE stg_pp3 AS SELECT s.line, s.rel, s.a, s.b, "
        "pa.product_id AS pa, pb.product_id AS pb, m.relation, row_number() OVER "
        "(PARTITION BY pa.product_id, pb.product_id, m.relation ORDER BY s.line) AS k "
        "FROM stg_pp2 s LEFT JOIN products pa ON pa.name = s.a "
        "LEFT JOIN products pb ON pb.name = s.b "
        "LEFT JOIN (SELECT unnest(?) AS rel, unnest(?) AS relation) m ON m.rel = s.rel",
        [list(_RELATIONS), list(_RELATIONS.values())])
    # The mark for a missing relation is bound: a literal '?' would read as a placeholder.
    record_issues_sql(db, sid, f.spec.path, Q(
        "SELECT line, CASE WHEN relation IS NULL THEN 'rel' ELSE 'to_entity' END AS field, "
        "CASE WHEN relation IS NULL THEN 'unknown_relation' WHEN pa IS NULL OR pb IS NULL "
        "THEN 'empty_name' WHEN pa = pb THEN 'self_relation' ELSE 'duplicate_link' END AS kind,"
        " CASE WHEN k > 1 AND pa <> pb AND relation IS NOT NULL THEN 'merged' "
        "ELSE 'rejected' END AS action, "
        "to_json(a) || ' ' || coalesce(rel, ?) || ' ' || to_json(b) AS detail "
        "FROM stg_pp3 WHERE relation IS NULL OR pa IS NULL OR pb IS NULL OR pa = pb OR k > 1",
        ("?",)))
    db.execute(
        "INSERT INTO product_relations SELECT pa, pb, relation, ? FROM stg_pp3 WHERE k = 1 "
        "AND relation IS NOT NULL AND pa IS NOT NULL AND pb IS NOT NULL AND pa <> pb", [sid])
