"""A region's standing on a chain: per node, local and national firms, LQ, 强/弱/缺.

Every figure counts the firms of one *universe*: ``listed`` (A-share firms), ``registry``
(enterprise-registry firms) or ``all`` (every firm in the store, the user's imported
roster included). The default is :func:`~chainatlas.store.lookup.default_universe`:
``all`` once registry firms are loaded, else ``listed``. Every output names its universe
(``universe``, ``universe_zh``) and what it covers (``coverage_zh``,
``registry_provinces``: the registry may be loaded for some provinces only).

Definitions (all counts are distinct firms on the node or any node below it):

- national_firms: firms of the universe anywhere on the node; local_firms: those of the
  region; local_total: located firms of the universe in the region.
- Location quotient LQ = (L_n / L) / (N_n / N), counted on ONE origin of firms, the LQ
  basis (``lq_basis`` says which, against what baseline, and the totals L and N):

  - universe ``listed``: listed firms on the node in the region (L_n) and nationally
    (N_n); L and N are all located listed firms of the region and of the country.
  - universe ``registry``: the same on registry firms, against the registry as loaded.
    When only some provinces are loaded the baseline is those provinces (named in
    ``lq_basis.provinces``): LQ 1.5 then reads "1.5 times the node's share in 河北省",
    not nationally; a region outside them has no registry firm and LQ 0.
  - universe ``all``: registry counts (a census-like base: every registered firm rather
    than the few hundred that listed) when the region lies in a loaded province and the
    baseline reaches beyond the region (a province that is the whole baseline would have
    LQ 1 on every node); otherwise listed counts.

  Roster firms never count in an LQ: rosters exist for the user's own region only, so
  counting them would make that region look specialised in whatever it imported.
- Class: 缺 (missing) when the region has no firm of the universe on the node; 强
  (strong) when LQ >= 1.25 with at least 2 local firms, or when a local firm is one of the
  node's 10 largest nationally (a node leader); otherwise 弱 (weak). Node leaders are
  ranked among the universe's non-roster firms that can be ranked nationally, the
  *leader pool* (``thresholds.node_leader_pool``): listed firms always; registry firms
  only once the registry is loaded for every province (:func:`leader_pool`). Within a
  partial registry "10 largest" is no test of standing: in 河北 alone a node often has
  a dozen registry firms, so 承德's 500 万元 hospital "led" 医学影像设备 and small cities
  became strong on half their nodes by leadership alone. With a partial registry the
  registry's firms therefore weigh in through the LQ only, and under universe
  ``registry`` 强 then rests on the LQ alone. Leaders, here and in ``local_leaders``,
  must have the node as a primary business: placing products of at least 30 % of
  revenue, or a placement without product evidence (``chains.placements.PRIMARY_SHARE``;
  registry firms are placed by their scope).
- ``as_of=YEAR`` keeps only firms founded or listed by that year (whichever came first);
  firms with neither date are left out of such views. Placements themselves come from the
  2021 product data: an as-of view shows where today's firms were, not what they made then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from chainatlas.chains.placements import primary_sql
from chainatlas.sources.registry_files import PROVINCES
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region, as_universe
from chainatlas.store.query import (
    UNIVERSES,
    Q,
    compose,
    first_year_by,
    founded_by,
    in_area,
    in_universe,
    param,
    size_order,
    values,
)

STRONG_LQ = 1.25
STRONG_MIN_FIRMS = 2
NODE_LEADER_RANK = 10
CLASSES = ("强", "弱", "缺")
#: How a sentence counts a universe's firms (全国有 12 家{noun}).
FIRMS_NOUN_ZH = {"listed": "上市企业", "registry": "工商登记企业", "all": "企业"}
#: The national count of a universe, as a label (全国上市企业 12 家): the registry part
#: covers the loaded provinces only, so it is never called 全国.
NATIONAL_ZH = {"listed": "全国上市企业", "registry": "已载入工商登记企业", "all": "全部企业"}
#: Baseline provinces named one by one up to this many, then "河北省等 N 个省份".
NAMED_PROVINCES = 4


# --------------------------------------------------------------------------- universes


def registry_provinces(db: Database) -> list[dict[str, str]]:
    """The provinces holding registry firms (adcode, name; by adcode): the registry as
    loaded, which is the national baseline of registry counts."""
    return [{"adcode": str(r["adcode"]), "name": str(r["name"])} for r in db.rows(
        "SELECT g.adcode, g.name FROM regions g WHERE g.adcode IN (SELECT DISTINCT "
        "province_adcode FROM companies WHERE origin = 'registry') ORDER BY g.adcode")]


def provinces_zh(provinces: Sequence[Mapping[str, str]]) -> str:
    """河北省、山西省, or 河北省、山西省等 12 个省份 for many. Pure."""
    names = [str(p["name"]) for p in provinces]
    if len(names) <= NAMED_PROVINCES:
        return "、".join(names)
    return f"{'、'.join(names[:2])}等 {len(names)} 个省份"


def coverage_zh(universe: str, provinces: Sequence[Mapping[str, str]]) -> str:
    """What the universe's figures cover, in one Chinese phrase. Pure."""
    loaded = f"工商登记企业（已载入：{provinces_zh(provinces)}）" if provinces else ""
    if universe == "listed":
        return "全国 A 股上市企业"
    if universe == "registry":
        return loaded or "工商登记企业（尚未载入工商登记数据）"
    return "全国 A 股上市企业" + (f"、{loaded}" if loaded else "") + "及导入名录企业"


def universe_fields(universe: str, provinces: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The fields every output carries about its universe. Pure."""
    return {"universe": universe, "universe_zh": UNIVERSES[universe],
            "coverage_zh": coverage_zh(universe, provinces),
            "registry_provinces": [dict(p) for p in provinces]}


def describe_universe(db: Database, universe: str | None) -> dict[str, Any]:
    """:func:`universe_fields` of a universe given as text (None: the default)."""
    chosen = as_universe(db, universe)
    return universe_fields(chosen, [] if chosen == "listed" else registry_provinces(db))


def lq_origin(universe: str, region: Region, provinces: Sequence[Mapping[str, str]]) -> str:
    """The origin of firms ('listed' or 'registry') an LQ counts (module docs). Pure."""
    if universe in ("listed", "registry"):
        return universe
    loaded = {str(p["adcode"]) for p in provinces}
    whole = region.level == "province" and loaded == {region.adcode}
    return "registry" if region.province_adcode in loaded and not whole else "listed"


def leader_pool(universe: str, provinces: Sequence[Mapping[str, str]]) -> tuple[str, ...]:
    """The origins whose firms are ranked for node leadership (module docs): listed
    firms, and registry firms once every province's registry is loaded. Pure."""
    national = len({str(p["adcode"]) for p in provinces}) >= len(PROVINCES)
    pool = {"listed": ("listed",), "registry": ("registry",) if national else (),
            "all": ("listed", "registry") if national else ("listed",)}
    return pool[universe]


def lq_basis_zh(origin: str, provinces: Sequence[Mapping[str, str]]) -> str:
    """The LQ basis as an analyst reads it. Pure."""
    if origin == "listed":
        return "区位商按上市企业计算，基准为全国上市企业"
    return (f"区位商按工商登记企业计算，基准为已载入登记数据的省份（{provinces_zh(provinces)}）"
            if provinces else "区位商按工商登记企业计算，但尚未载入工商登记数据")


# --------------------------------------------------------------------------- queries


def located_total(db: Database, universe: str | None = None, region: Region | None = None,
                  as_of: int | None = None) -> int:
    """Located firms of a universe (or of one origin: 'listed', 'registry'), nationally
    (N) or of a region (L); roster twins of listed firms count once."""
    where = (Q("c.region_adcode IS NOT NULL") if region is None
             else in_area(region.level, region.adcode, "c"))
    return int(db.scalar(compose(
        "SELECT count(*) FROM companies c WHERE c.same_as IS NULL AND {universe} "
        "AND {where} AND {as_of}", universe=in_universe(as_universe(db, universe), "c"),
        where=where,
        as_of=founded_by(as_of, "c"))))


def node_counts(db: Database, chain: Chain, region: Region, as_of: int | None = None,
                universe: str | None = None, basis: str | None = None,
                pool: Sequence[str] | None = None) -> pd.DataFrame:
    """Per node: national_firms, local_firms, local_listed (of the universe), lq_national
    and lq_local (firms of the ``basis`` origin, by default :func:`lq_origin`'s),
    local_node_leaders (ranked among the ``pool`` origins, by default
    :func:`leader_pool`'s)."""
    universe = as_universe(db, universe)
    if basis is None or pool is None:
        provinces = registry_provinces(db)
        basis = basis or lq_origin(universe, region, provinces)
        pool = leader_pool(universe, provinces) if pool is None else pool
    return db.df(compose(
        "WITH ranked AS (SELECT f.*, row_number() OVER (PARTITION BY f.node_id, "
        "list_contains({pool}, f.origin) AND {primary} ORDER BY {size}, f.company_id) "
        "AS size_rank, "
        "({local}) AS is_local, ({primary}) AS primary_line FROM chain_firms f "
        "JOIN companies c USING (company_id) WHERE f.chain_id = {chain} AND {as_of} "
        "AND {universe}) "
        "SELECT n.node_id, n.name_zh, n.stage, n.parent, n.level, n.is_leaf, n.ord, "
        "count(r.company_id) AS national_firms, "
        "count(r.company_id) FILTER (WHERE r.is_local) AS local_firms, "
        "count(r.company_id) FILTER (WHERE r.is_local AND r.origin = 'listed') "
        "AS local_listed, "
        "count(r.company_id) FILTER (WHERE r.origin = {basis}) AS lq_national, "
        "count(r.company_id) FILTER (WHERE r.is_local AND r.origin = {basis}) AS lq_local, "
        "count(r.company_id) FILTER (WHERE r.is_local AND list_contains({pool}, r.origin) "
        "AND r.size_rank <= {rank} AND r.primary_line) AS local_node_leaders "
        "FROM chain_nodes n LEFT JOIN ranked r ON r.node_id = n.node_id "
        "WHERE n.chain_id = {chain} GROUP BY ALL ORDER BY n.ord",
        size=size_order("c"), local=in_area(region.level, region.adcode, "f"),
        primary=primary_sql("f"), chain=param(chain.chain_id),
        as_of=first_year_by(as_of, "f"), universe=in_universe(universe, "f"),
        basis=param(basis), pool=values(pool), rank=param(NODE_LEADER_RANK)))


def local_leaders(db: Database, chain: Chain, region: Region, as_of: int | None = None,
                  per_node: int = 3, universe: str | None = None
                  ) -> dict[str, list[dict[str, Any]]]:
    """The largest local firms of the universe on each node (registered capital, then
    employees), primary lines only."""
    universe = as_universe(db, universe)
    frame = db.df(compose(
        "SELECT * FROM (SELECT f.node_id, c.company_id, c.short_name, c.origin, "
        "c.registered_capital, c.employees, f.confidence, row_number() OVER "
        "(PARTITION BY f.node_id ORDER BY {size}, f.company_id) AS k FROM chain_firms f "
        "JOIN companies c USING (company_id) WHERE f.chain_id = {chain} AND {local} "
        "AND {as_of} AND {primary} AND {universe}) WHERE k <= {per_node}",
        size=size_order("c"), chain=param(chain.chain_id), primary=primary_sql("f"),
        local=in_area(region.level, region.adcode, "f"), as_of=first_year_by(as_of, "f"),
        universe=in_universe(universe, "f"), per_node=param(per_node)))
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(str(row["node_id"]), []).append({
            "company_id": row["company_id"], "short_name": row["short_name"],
            "origin": row["origin"],
            "registered_capital": None if pd.isna(row["registered_capital"])
            else float(row["registered_capital"]),
            "employees": None if pd.isna(row["employees"]) else int(row["employees"])})
    return out


# --------------------------------------------------------------------------- scoring


def classify_node(local_firms: int, lq: float, local_leaders: int) -> str:
    """强 / 弱 / 缺 by the documented thresholds."""
    if local_firms == 0:
        return "缺"
    if (lq >= STRONG_LQ and local_firms >= STRONG_MIN_FIRMS) or local_leaders > 0:
        return "强"
    return "弱"


def location_quotient(local_n: int, local_total: int, national_n: int,
                      national_total: int) -> float:
    """(L_n / L) / (N_n / N); 0 when any share is undefined."""
    if local_total <= 0 or national_n <= 0 or national_total <= 0:
        return 0.0
    return (local_n / local_total) / (national_n / national_total)


def score_nodes(counts: pd.DataFrame, local_total: int, national_total: int) -> pd.DataFrame:
    """Add ``lq`` (rounded to 3 places) and ``class`` to :func:`node_counts`' frame.

    The LQ reads ``lq_local`` and ``lq_national`` (the basis origin's firms), the class
    ``local_firms`` (the universe's) and ``local_node_leaders``. Pure: the figures come
    in, the documented rules go out, no store involved.
    """
    out = counts.copy()
    lq = [location_quotient(int(local), local_total, int(national), national_total)
          for local, national in zip(out["lq_local"], out["lq_national"], strict=True)]
    out["lq"] = [round(v, 3) for v in lq]
    out["class"] = [classify_node(int(n), v, int(k)) for n, v, k in zip(
        out["local_firms"], lq, out["local_node_leaders"], strict=True)]
    return out


def summarise(nodes: list[dict[str, Any]]) -> dict[str, int]:
    """How many leaves are 强, 弱 and 缺."""
    leaves = [n for n in nodes if n["is_leaf"]]
    return {c: sum(1 for n in leaves if n["class"] == c) for c in CLASSES}


# --------------------------------------------------------------------------- the profile


def _basis(db: Database, origin: str, region: Region, as_of: int | None,
           provinces: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The ``lq_basis`` block: origin, baseline, the totals N and L, and the wording."""
    baseline = [] if origin == "listed" else [dict(p) for p in provinces]
    return {"origin": origin, "origin_zh": UNIVERSES[origin],
            "baseline_zh": "全国" if origin == "listed" else provinces_zh(provinces) or "—",
            "provinces": baseline,
            "covered": origin == "listed" or region.province_adcode in {
                p["adcode"] for p in provinces},
            "national_total": located_total(db, origin, None, as_of),
            "local_total": located_total(db, origin, region, as_of),
            "note_zh": lq_basis_zh(origin, provinces)}


def region_profile(db: Database, region: Region | str, chain: Chain | str,
                   as_of: int | None = None, universe: str | None = None) -> dict[str, Any]:
    """The region's panorama on a chain: per node counts, LQ, class and local leaders,
    counting the firms of ``universe`` (id or Chinese name; None: the default)."""
    region, chain = as_region(db, region), as_chain(db, chain)
    chosen = as_universe(db, universe)
    provinces = [] if chosen == "listed" else registry_provinces(db)
    basis = _basis(db, lq_origin(chosen, region, provinces), region, as_of, provinces)
    pool = leader_pool(chosen, provinces)
    counts = node_counts(db, chain, region, as_of, chosen, basis["origin"], pool)
    scored = score_nodes(counts, basis["local_total"], basis["national_total"])
    leaders = local_leaders(db, chain, region, as_of, universe=chosen)
    nodes = [{
        "node_id": row["node_id"], "name_zh": row["name_zh"], "stage": row["stage"],
        "parent": None if pd.isna(row["parent"]) else row["parent"],
        "level": int(row["level"]), "is_leaf": bool(row["is_leaf"]),
        "national_firms": int(row["national_firms"]),
        "local_firms": int(row["local_firms"]), "local_listed": int(row["local_listed"]),
        "lq_local": int(row["lq_local"]), "lq_national": int(row["lq_national"]),
        "lq": float(row["lq"]), "class": str(row["class"]),
        "local_leaders": leaders.get(str(row["node_id"]), [])}
        for row in scored.to_dict("records")]
    return {
        "region": region.summary(),
        "chain_id": chain.chain_id, "chain_name": chain.name_zh, "as_of": as_of,
        **universe_fields(chosen, provinces),
        "local_total": located_total(db, chosen, region, as_of),
        "lq_basis": basis,
        "summary": summarise(nodes),
        "thresholds": {"strong_lq": STRONG_LQ, "strong_min_firms": STRONG_MIN_FIRMS,
                       "node_leader_rank": NODE_LEADER_RANK,
                       "node_leader_pool": list(pool)},
        "nodes": nodes,
    }
