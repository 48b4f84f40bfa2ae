"""The firm backtest's candidates and units (benchmarks/backtest_firms.py): the library's
candidates of one chain at T for the whole country, each city's standing, proximity and
template-edge links, the views' pools, and every method's scores on a unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from _firm_metrics import UnitHits, unit_hits

from chainatlas.analysis import expansion
from chainatlas.analysis.leaders import percentile_rank
from chainatlas.analysis.regional import (
    NODE_LEADER_RANK,
    leader_pool,
    located_total,
    lq_origin,
    registry_provinces,
    score_nodes,
)
from chainatlas.chains.direction import Directions, directions_from_store
from chainatlas.chains.placements import primary_sql
from chainatlas.recommend import firms
from chainatlas.recommend.target_links import links_value, template_links
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region
from chainatlas.store.query import (
    compose,
    first_year_by,
    founded_by,
    in_universe,
    param,
    size_order,
    values,
)

UNIVERSE = "registry"
#: Score ties are broken by the scale figure, as the library's sort does; this scale
#: keeps that tie-break below any score difference that changes an order in practice.
TIE_BREAK = 1e-9
#: A city no firm lies in: the library's query step for it returns every located
#: candidate of the country, so the candidates are read once per (chain, T).
NOWHERE = Region(adcode="000000", name="全国", level="city", province_adcode="000000")


# --------------------------------------------------------------------------- standing

# The per-node counts of ``analysis.regional.node_counts``, for every city of the country
# in one query instead of one query per city (the same rows, ranks and filters; the
# check compares the classes with the library's own ``region_profile``).
_CITY_COUNTS = """
WITH ranked AS (SELECT f.node_id, f.origin, f.city_adcode, row_number() OVER (
    PARTITION BY f.node_id, list_contains({pool}, f.origin) AND {primary}
    ORDER BY {size}, f.company_id) AS size_rank, ({primary}) AS primary_line
    FROM chain_firms f JOIN companies c USING (company_id)
    WHERE f.chain_id = {chain} AND {as_of} AND {universe})
SELECT node_id, city_adcode AS city, count(*) AS local_firms,
    count(*) FILTER (WHERE origin = 'listed') AS local_listed,
    count(*) FILTER (WHERE origin = {basis}) AS lq_local,
    count(*) FILTER (WHERE list_contains({pool}, origin) AND size_rank <= {rank}
        AND primary_line) AS local_node_leaders
FROM ranked GROUP BY ALL
"""


def city_standings(db: Database, chain: Chain, year: int) -> dict[str, dict[str, dict[
        str, Any]]]:
    """city -> node -> class, lq, local_firms (``node_standing``'s shape, no firm names)
    for universe ``registry`` at ``year``: the library's rules (``score_nodes``) on
    counts read for all cities at once."""
    provinces = registry_provinces(db)
    basis = lq_origin(UNIVERSE, NOWHERE, provinces)
    pool = leader_pool(UNIVERSE, provinces)
    counts = db.df(compose(
        _CITY_COUNTS, pool=values(pool), primary=primary_sql("f"), size=size_order("c"),
        chain=param(chain.chain_id), as_of=first_year_by(year, "f"),
        universe=in_universe(UNIVERSE, "f"), basis=param(basis),
        rank=param(NODE_LEADER_RANK)))
    national = counts.groupby("node_id")["lq_local"].sum()
    totals = dict(db.execute(compose(
        "SELECT c.city_adcode, count(*) FROM companies c WHERE c.same_as IS NULL AND "
        "{basis} AND {as_of} AND c.city_adcode IS NOT NULL GROUP BY 1",
        basis=in_universe(basis, "c"), as_of=founded_by(year, "c"))).fetchall())
    national_total = located_total(db, basis, None, year)
    nodes = pd.DataFrame({"node_id": list(chain.node_ids)})
    out = {}
    for city, rows in counts.dropna(subset=["city"]).groupby("city"):
        frame = nodes.merge(rows.drop(columns=["city"]), on="node_id", how="left").fillna(
            {"local_firms": 0, "local_listed": 0, "lq_local": 0, "local_node_leaders": 0})
        frame["lq_national"] = frame["node_id"].map(national).fillna(0)
        scored = score_nodes(frame, int(totals.get(city, 0)), national_total)
        out[str(city)] = {str(r["node_id"]): {"class": r["class"], "lq": r["lq"],
                                              "local_firms": int(r["local_firms"]),
                                              "firms": []}
                          for r in scored.to_dict("records")}
    return out


def empty_standing(chain: Chain) -> dict[str, dict[str, Any]]:
    """The standing of a city without any chain firm: every node 缺."""
    return {n: {"class": "缺", "lq": 0.0, "local_firms": 0, "firms": []}
            for n in chain.node_ids}


# --------------------------------------------------------------------------- candidates


@dataclass
class ChainYear:
    """One chain's national candidates at T (the library's query step, once) and the
    per-city components every view shares (cached by city)."""

    db: Database | None
    chain: Chain
    year: int
    #: the library's candidate rows (``firm_inputs(...).candidates``)
    frame: pd.DataFrame
    scope: tuple[str, ...]
    directions: Directions | None
    index: dict[str, int] = field(init=False)
    #: row -> its primary node set, as an index into ``node_sets``
    node_code: np.ndarray = field(init=False)
    node_sets: list[tuple[str, ...]] = field(init=False)
    #: city -> node -> the city's standing (:func:`city_standings`)
    standings: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    near: dict[str, np.ndarray] = field(default_factory=dict)
    linked: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {str(c): i for i, c in enumerate(self.frame["company_id"])}
        keys = [tuple(n) for n in self.frame["primary_nodes"]]
        codes: dict[tuple[str, ...], int] = {}
        self.node_code = np.array([codes.setdefault(k, len(codes)) for k in keys], dtype=int)
        self.node_sets = list(codes)

    def proximity(self, region: Region) -> np.ndarray:
        """The library's proximity of every candidate for this city."""
        if region.adcode not in self.near:
            geo = self.frame[["province_adcode", "lon", "lat"]].copy()
            firms.add_proximity(geo, centre(region), region.province_adcode)
            self.near[region.adcode] = geo["proximity"].to_numpy(float)
        return self.near[region.adcode]

    def links(self, region: Region) -> np.ndarray:
        """The library's template-edge links of every candidate for this city
        (``template_links`` once per primary node set, ``links_value``). Scope-item
        links are left out here (about a second per city and chain; ``--check`` runs the
        library's full links on sample units); product links are empty for registry
        firms (no placing products)."""
        if region.adcode not in self.linked:
            standing = self.standings.get(region.adcode) or empty_standing(self.chain)
            assert self.directions is not None
            edges = template_links(self.directions, {str(i): list(k) for i, k in enumerate(
                self.node_sets)}, standing, self.chain)
            per_set = np.array([links_value(edges.get(str(i), ()))
                                for i in range(len(self.node_sets))])
            self.linked[region.adcode] = (per_set[self.node_code] if len(per_set)
                                          else np.zeros(len(self.frame)))
        return self.linked[region.adcode]


def centre(region: Region) -> tuple[float, float] | None:
    """The region's (lon, lat) (cities of the store all have one)."""
    return None if region.lon is None or region.lat is None else (region.lon, region.lat)


def chain_year(db: Database, chain: Chain, year: int) -> ChainYear:
    """The library's query step at ``year`` for the whole country (see ``NOWHERE``)."""
    inputs = firms.firm_inputs(db, NOWHERE, chain, None, year, UNIVERSE)
    return ChainYear(db, chain, year, inputs.candidates.reset_index(drop=True),
                     inputs.scope, directions_from_store(db, chain),
                     city_standings(db, chain, year))


@dataclass
class Pool:
    """The candidates of one view (all of a ChainYear's rows, or some) with the library's
    city-independent components, scaled among the view's rows."""

    source: ChainYear
    view: str
    #: rows of ``source.frame`` in the view, None for all of them
    rows: np.ndarray | None
    frame: pd.DataFrame
    components: dict[str, np.ndarray]
    index: dict[str, int] = field(init=False)
    city: np.ndarray = field(init=False)
    capital: np.ndarray = field(init=False)
    factor: np.ndarray = field(init=False)
    tie: np.ndarray = field(init=False)
    _bases: dict[tuple[tuple[str, float], ...], np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {str(c): i for i, c in enumerate(self.frame["company_id"])}
        self.city = self.frame["city_adcode"].astype(str).to_numpy()
        self.capital = pd.to_numeric(self.frame["registered_capital"],
                                     errors="coerce").to_numpy(float)
        self.factor = pd.to_numeric(self.frame["factor"], errors="coerce").fillna(
            1.0).to_numpy(float)
        self.tie = TIE_BREAK * percentile_rank(pd.to_numeric(
            self.frame["scale_figure"], errors="coerce")).to_numpy(float)

    def base(self, weights: Mapping[str, float]) -> np.ndarray:
        """The weighted sum of the city-independent components (cached per weights)."""
        key = tuple(sorted(weights.items()))
        if key not in self._bases:
            total = np.zeros(len(self.frame))
            for name, w in weights.items():
                if name in self.components and w:
                    total += w * self.components[name]
            self._bases[key] = total
        return self._bases[key]

    def of_city(self, figures: np.ndarray) -> np.ndarray:
        """A per-city array of the source's rows, restricted to the view's rows."""
        return figures if self.rows is None else figures[self.rows]


def make_pool(source: ChainYear, view: str, keep: np.ndarray | None = None) -> Pool:
    """The view's rows (``keep``: a mask of the source's, None for all) with strength
    (``firms.add_strength``) and expansion (``expansion_score``) as the library has them."""
    rows = None if keep is None else np.flatnonzero(keep)
    frame = source.frame if rows is None else source.frame.iloc[rows]
    frame = frame.reset_index(drop=True).copy()
    firms.add_strength(frame)
    frame["expansion"] = expansion.expansion_score(frame["expansion_cities"].astype(float))
    components = {name: frame[name].to_numpy(float) for name in ("fit", "strength",
                                                                  "expansion")}
    return Pool(source, view, rows, frame, components)


@dataclass
class Unit:
    """One (T, city, chain) with >= 1 positive: what every method is scored on."""

    pool: Pool
    region: Region
    #: the candidates that did open a branch in the city in (T, END]
    positive: np.ndarray
    #: rows of the city's own firms (not candidates of this city)
    own: np.ndarray
    proximity: np.ndarray
    links: np.ndarray


def make_units(pool: Pool, pairs: pd.DataFrame, regions: Mapping[str, Region],
               gaps: Mapping[str, list[int]]) -> list[Unit]:
    """The pool's units: cities (outside gap provinces) with >= 1 positive candidate."""
    found = pairs[pairs["parent"].isin(pool.index)]
    out = []
    for city, group in found.groupby("city"):
        region = regions.get(str(city))
        if region is None or region.province_adcode in gaps:
            continue
        own = np.flatnonzero(pool.city == city)
        positive = np.zeros(len(pool.frame), dtype=bool)
        positive[[pool.index[p] for p in group["parent"]]] = True
        positive[own] = False  # a parent located in the city is no outside candidate
        if positive.any():
            out.append(Unit(pool, region, positive, own,
                            pool.of_city(pool.source.proximity(region)),
                            pool.of_city(pool.source.links(region))))
    return out


def unit_scores(unit: Unit, method: str | Mapping[str, float]) -> np.ndarray:
    """Scores of every pool row for this unit: a weight vector (the library's score),
    ``size`` (registered capital) or one component's name; the city's own firms -inf."""
    if method == "size":
        # a missing capital ranks last
        s = np.where(np.isnan(unit.pool.capital), -np.inf, unit.pool.capital)
    elif isinstance(method, str):
        figures = {"proximity": unit.proximity, "links": unit.links}
        s = figures[method] if method in figures else unit.pool.components[method]
        s = s + unit.pool.tie
    else:
        s = (unit.pool.base(method) + method.get("proximity", 0.0) * unit.proximity
             + method.get("links", 0.0) * unit.links) * unit.pool.factor + unit.pool.tie
    s[unit.own] = -np.inf
    return s


def evaluate(units: Iterable[Unit], method: str | Mapping[str, float]) -> list[UnitHits]:
    """Hits of one method on every unit."""
    return [unit_hits(unit_scores(u, method), u.positive) for u in units]
