"""What the web pages and the REST API show around the analyses: regions, chains, key figures.

The web stage holds no SQL: every lookup a page or a route needs lives here (or in
:mod:`chainatlas.store.lookup`) as a function returning plain rows or typed values.

- Region listing: :func:`search_regions` (name fragment or adcode prefix; exact names first,
  then prefixes, provinces before cities before districts), :func:`region_detail` (with
  the parent's name and the direct children), :func:`region_choices` (every region with
  its parent's name, for pickers), :func:`region_by_adcode`, :func:`first_region`,
  :func:`province_named`.
- Chains: :func:`chain_summaries` (node, leaf, edge and firm counts),
  :func:`chain_template` (the template a stored chain was built from),
  :func:`chain_edges` (the template's supply edges).
- Key figures: :func:`region_overview` (a region's firm counts, and per chain its 强/弱/缺
  summary, local firms, strong segments and local leaders), :func:`region_firms`. They
  count the firms of one universe (``universe``: listed, registry or all; default ``all``
  once registry firms are loaded, see :mod:`chainatlas.analysis.regional`) and name it.
- Firms: :func:`firm_name`, :func:`firm_province`.
- Industries: :func:`industry_codes` (to validate templates against).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

from chainatlas.analysis.leaders import chain_leaders
from chainatlas.analysis.regional import describe_universe, region_profile
from chainatlas.errors import NotFoundError
from chainatlas.store import Database
from chainatlas.store.lookup import (
    Chain,
    Region,
    as_chain,
    as_region,
    as_universe,
    chain_from_text,
    list_chains,
)
from chainatlas.store.query import (
    Q,
    compose,
    in_area,
    in_universe,
    join,
    level_order,
    param,
    size_order,
)

#: The fields a region is listed with (the API's region objects).
REGION_FIELDS = ("adcode", "name", "level", "parent", "province_adcode", "lon", "lat")
#: Local leaders shown per chain on the overview.
LEADERS_PER_CHAIN = 3
#: Firms listed on a region's firm index.
REGION_FIRMS = 200

_REGION_SELECT = Q("SELECT adcode, name, level, parent, province_adcode, lon, lat FROM regions")


# --------------------------------------------------------------------------- regions


def search_regions(db: Database, q: str | None = None, level: str | None = None,
                   parent: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Regions matching a name fragment or an adcode prefix, optionally of one level or
    under one parent.

    Order: the exact name first, then names starting with ``q``, then provinces before
    cities before districts, then adcode. Without ``q`` every region (of the filters) is
    listed in level and adcode order.
    """
    text = (q or "").strip() or None
    conditions: list[Q] = []
    if text is not None:
        conditions.append(Q("(contains(name, ?) OR starts_with(adcode, ?))", (text, text)))
    if level is not None:
        conditions.append(Q("level = ?", (level,)))
    if parent is not None:
        conditions.append(Q("parent = ?", (parent,)))
    return db.rows(compose(
        "{select} WHERE {where} ORDER BY name <> {q}, NOT starts_with(name, {q}), {order}, "
        "adcode LIMIT {limit}",
        select=_REGION_SELECT, where=join(conditions), q=param(text or ""),
        order=level_order(), limit=param(int(limit))))


def region_detail(db: Database, region: Region | str) -> dict[str, Any]:
    """A region's fields, its parent's name (None for a province) and its direct children
    (adcode, name, level; by adcode)."""
    place = as_region(db, region)
    out: dict[str, Any] = {k: getattr(place, k) for k in REGION_FIELDS}
    out["parent_name"] = (None if place.parent is None else db.scalar(
        "SELECT name FROM regions WHERE adcode = ?", [place.parent]))
    out["children"] = db.rows("SELECT adcode, name, level FROM regions WHERE parent = ? "
                              "ORDER BY adcode", [place.adcode])
    return out


def region_choices(db: Database) -> list[dict[str, Any]]:
    """Every region with its parent's name (``parent_name``), provinces first, by adcode."""
    return db.rows(compose(
        "SELECT r.adcode, r.name, r.level, p.name AS parent_name FROM regions r "
        "LEFT JOIN regions p ON p.adcode = r.parent ORDER BY {order}, r.adcode",
        order=level_order("r")))


def _one_region(db: Database, query: Q) -> Region | None:
    rows = db.rows(query)
    return Region.from_row(rows[0]) if rows else None


def region_by_adcode(db: Database, adcode: str) -> Region | None:
    """The region with exactly this adcode, or None (no padding, no name matching)."""
    return _one_region(db, compose("{select} WHERE adcode = {adcode}",
                                   select=_REGION_SELECT, adcode=param(adcode)))


def first_region(db: Database) -> Region | None:
    """The region with the lowest adcode (None when the region table is empty)."""
    return _one_region(db, compose("{select} ORDER BY adcode LIMIT 1", select=_REGION_SELECT))


def province_named(db: Database, name: str) -> Region | None:
    """The province with exactly this name (as map features name them), or None."""
    return _one_region(db, compose("{select} WHERE level = 'province' AND name = {name}",
                                   select=_REGION_SELECT, name=param(name)))


# --------------------------------------------------------------------------- chains


def chain_summaries(db: Database, universe: str | None = None) -> list[dict[str, Any]]:
    """Every stored chain with its node, leaf, edge and (distinct) firm counts, by id;
    firms of ``universe`` (None: the default).

    Columns: chain_id, name_zh, name_en, description_zh, nodes, leaves, edges, firms,
    universe, sha256, loaded_at.
    """
    chosen = as_universe(db, universe)
    return db.rows(compose(
        "SELECT c.chain_id, c.name_zh, c.name_en, c.description_zh, "
        "(SELECT count(*) FROM chain_nodes n WHERE n.chain_id = c.chain_id) AS nodes, "
        "(SELECT count(*) FROM chain_nodes n WHERE n.chain_id = c.chain_id AND n.is_leaf) "
        "AS leaves, "
        "(SELECT count(*) FROM chain_edges e WHERE e.chain_id = c.chain_id) AS edges, "
        "(SELECT count(DISTINCT f.company_id) FROM chain_firms f "
        "WHERE f.chain_id = c.chain_id AND {universe}) AS firms, {name} AS universe, "
        "c.sha256, c.loaded_at FROM chains c ORDER BY c.chain_id",
        universe=in_universe(chosen, "f"), name=param(chosen)))


@lru_cache(maxsize=32)
def _template_dict(path: str, modified_ns: int) -> dict[str, Any]:
    # Keyed by the file's modification time too: an edited template is read again.
    from chainatlas.chains.templates import load_template, template_to_dict

    out = template_to_dict(load_template(path))
    out.pop("path", None)  # a server file path is no business of a client's
    return out


def chain_template(db: Database, chain: Chain | str) -> dict[str, Any]:
    """The template a stored chain was built from, as ``chainatlas chains show --json``
    prints it, without its file path. NotFoundError when the file has gone."""
    chain = as_chain(db, chain)
    path = db.scalar("SELECT path FROM chains WHERE chain_id = ?", [chain.chain_id])
    file = Path(str(path))
    if path is None or not file.is_file():
        raise NotFoundError(f"The template file of chain {chain.chain_id!r} is no longer "
                            "there; rebuild the store.")
    # a copy: callers may change it, the cached one stays as read
    return copy.deepcopy(_template_dict(str(file), file.stat().st_mtime_ns))


def chain_edges(db: Database, chain: Chain | str) -> list[dict[str, Any]]:
    """The chain template's supply edges (source, target, note_zh), by source and target."""
    chain = as_chain(db, chain)
    return db.rows("SELECT source, target, note_zh FROM chain_edges WHERE chain_id = ? "
                   "ORDER BY source, target", [chain.chain_id])


# --------------------------------------------------------------------------- key figures


def firm_counts(db: Database, region: Region | str,
                universe: str | None = None) -> dict[str, Any]:
    """Listed firms nationally (``listed_total``) and located ones (``located_total``),
    the region's firms (``local_firms``, every origin) and listed ones (``local_listed``),
    its firms of the universe (``local_universe``) and its distinct firms of the universe
    on any chain (``on_chain``), with the universe fields of
    :func:`~chainatlas.analysis.regional.describe_universe`."""
    place = as_region(db, region)
    about = describe_universe(db, universe)
    national = db.rows(
        "SELECT count(*) FILTER (WHERE origin = 'listed') AS listed, "
        "count(*) FILTER (WHERE origin = 'listed' AND region_adcode IS NOT NULL) AS located "
        "FROM companies WHERE same_as IS NULL")[0]
    local = db.rows(compose(
        "SELECT count(*) AS firms, count(*) FILTER (WHERE c.origin = 'listed') AS listed, "
        "count(*) FILTER (WHERE {universe}) AS chosen "
        "FROM companies c WHERE c.same_as IS NULL AND {local}",
        universe=in_universe(about["universe"], "c"),
        local=in_area(place.level, place.adcode, "c")))[0]
    on_chain = db.scalar(compose(
        "SELECT count(DISTINCT f.company_id) FROM chain_firms f WHERE {local} AND {universe}",
        local=in_area(place.level, place.adcode, "f"),
        universe=in_universe(about["universe"], "f")))
    return {**about, "listed_total": int(national["listed"] or 0),
            "located_total": int(national["located"] or 0),
            "local_firms": int(local["firms"] or 0), "local_listed": int(local["listed"] or 0),
            "local_universe": int(local["chosen"] or 0), "on_chain": int(on_chain or 0)}


def chain_local_firms(db: Database, region: Region | str,
                      universe: str | None = None) -> dict[str, int]:
    """chain_id -> the region's distinct firms of the universe on that chain (chains
    without any left out)."""
    place = as_region(db, region)
    return {str(chain_id): int(n) for chain_id, n in db.execute(compose(
        "SELECT f.chain_id, count(DISTINCT f.company_id) FROM chain_firms f WHERE {local} "
        "AND {universe} GROUP BY f.chain_id", local=in_area(place.level, place.adcode, "f"),
        universe=in_universe(as_universe(db, universe), "f"))).fetchall()}


def chain_standing(db: Database, region: Region | str, chain: Chain | str, local_firms: int,
                   leaders: int = LEADERS_PER_CHAIN,
                   universe: str | None = None) -> dict[str, Any]:
    """One chain's line on the overview: the 强/弱/缺 summary of its leaves, the region's
    firms on it (``local_firms``, counted by :func:`chain_local_firms`), its strong
    top-level segments and the region's ``leaders`` leaders, all of the universe."""
    region, chain = as_region(db, region), as_chain(db, chain)
    chosen = as_universe(db, universe)
    profile = region_profile(db, region, chain, universe=chosen)
    roots = [n for n in profile["nodes"] if n["level"] == 1]
    return {"chain_id": chain.chain_id, "name": chain.name_zh,
            "summary": profile["summary"], "local_firms": local_firms,
            "lq_basis": profile["lq_basis"]["origin"],
            "strong_segments": [n["name_zh"] for n in roots if n["class"] == "强"],
            "leaders": chain_leaders(db, chain, region, top=leaders,
                                     universe=chosen).get("local", [])}


def region_overview(db: Database, region: Region | str, leaders: int = LEADERS_PER_CHAIN,
                    universe: str | None = None) -> dict[str, Any]:
    """Key figures of a region across every stored chain (the 总览 page), counting the
    firms of ``universe`` (None: the default).

    The :func:`firm_counts` keys, and ``chains``: per chain (by id) its
    :func:`chain_standing`.
    """
    place = as_region(db, region)
    counts = firm_counts(db, place, universe)
    chosen = str(counts["universe"])
    per_chain = chain_local_firms(db, place, chosen)
    chains = [chain_standing(db, place, chain_from_text(db, str(row["chain_id"])),
                             per_chain.get(str(row["chain_id"]), 0), leaders, chosen)
              for row in list_chains(db)]
    return {**counts, "chains": chains}


def region_firms(db: Database, region: Region | str, limit: int = REGION_FIRMS,
                 universe: str | None = None) -> list[dict[str, Any]]:
    """The region's firms of the universe, biggest first (registered capital, then
    employees): company_id, name (short, else full, else id), full_name ('' if none), code
    (stock code or —), city (name or —), origin."""
    place = as_region(db, region)
    return db.rows(compose(
        "SELECT c.company_id, coalesce(c.short_name, c.full_name, c.company_id) AS name, "
        "coalesce(c.full_name, '') AS full_name, coalesce(c.stock_code, '—') AS code, "
        "coalesce(g.name, '—') AS city, c.origin FROM companies c LEFT JOIN regions g "
        "ON g.adcode = c.city_adcode WHERE c.same_as IS NULL AND {local} AND {universe} "
        "ORDER BY {size}, c.company_id LIMIT {limit}", size=size_order("c"),
        local=in_area(place.level, place.adcode, "c"),
        universe=in_universe(as_universe(db, universe), "c"), limit=param(int(limit))))


# --------------------------------------------------------------------------- firms


def firm_name(db: Database, company_id: str) -> str | None:
    """The firm's short name (else full name) by exact company id, or None."""
    name = db.scalar("SELECT coalesce(short_name, full_name) FROM companies "
                     "WHERE company_id = ?", [company_id])
    return None if name is None else str(name)


def firm_province(db: Database, company_id: str) -> str | None:
    """The adcode of the firm's province by exact company id (None if unlocated/unknown)."""
    adcode = db.scalar("SELECT province_adcode FROM companies WHERE company_id = ?",
                       [company_id])
    return None if adcode is None else str(adcode)



# --------------------------------------------------------------------------- industries


def industry_codes(db: Database, scheme: str) -> set[str]:
    """Every stored industry code of a scheme (``sw2021`` Shenwan, ``gbt2017`` GB/T)."""
    return {str(code) for (code,) in db.execute(
        "SELECT code FROM industries WHERE scheme = ?", [scheme]).fetchall()}


def registry_loaded(db: Database) -> bool:
    """Whether the store holds enterprise-registry firms (their licence must be shown)."""
    return bool(db.scalar("SELECT EXISTS (SELECT 1 FROM companies WHERE origin = 'registry')"))
