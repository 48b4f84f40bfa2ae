"""Signals about places that do not depend on the region asked about: who resembles whom,
who is near whom, and which chain leaves are spreading across the country.

All of them read one matrix, :func:`chainatlas.recommend.relatedness.presence_all`: the
places of a level (cities or provinces) x the leaves of EVERY chain, counting the firms of
one origin (the LQ basis: listed or registry) founded or listed by the as-of year. A place
*has* a leaf when it holds at least one such firm on it. Three signals come out, each in
[0, 1] and each read by an analyst as a plain figure (``benchmarks/backtest_nodes.py``
measured them on the registry's history):

- peers (同类城市): the share of the place's ``PEERS_SHARE`` most similar places (at least
  ``MIN_PEERS``) that have the leaf. Similarity is the cosine of the two places' presence
  vectors over all chains' leaves: places with the same industrial base tend to take up
  the same next activities, so "30 of the 40 cities most like yours have it" is a strong
  hint that yours can have it too.
- nearby (周边布局): the share of other places having the leaf, each weighted by
  exp(-distance / ``NEAR_SCALE_KM``), so the cities around the place count most and far
  ones barely. Activities diffuse to neighbours (suppliers, staff and customers travel).
- momentum (全国扩散): of the places that lacked the leaf ``MOMENTUM_YEARS`` years before
  the as-of year, the share that gained it since; divided by the largest such share of
  any leaf, so 1 is the fastest-spreading leaf of all chains. ``as_of=None`` measures up to
  the latest first year of the basis' firms (the data's "today").

The computations are pure functions of frames (:func:`peer_table`, :func:`nearby_table`,
:func:`spread_table`); :func:`place_signals` runs the queries and builds them once per
as-of year, level and basis, for every chain (the backtest shares one across chains).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from chainatlas.recommend.firms import haversine_km
from chainatlas.recommend.relatedness import presence_all
from chainatlas.store import Database
from chainatlas.store.query import compose, param

#: Peers are this share of the places with any firm of the basis (40 of ~340 cities).
PEERS_SHARE = 0.12
#: ... and never fewer than this many (a province has ~30 places to compare with).
MIN_PEERS = 5
#: Distance over which a neighbour's weight falls to 1/e in the nearby signal.
NEAR_SCALE_KM = 200.0
#: A reason names neighbours having the leaf within this distance.
NEAR_NAMED_KM = 300.0
#: The momentum window: gains over the last this many years.
MOMENTUM_YEARS = 3


@dataclass(frozen=True)
class PlaceSignals:
    """Region-independent place signals for one as-of year, level and basis."""

    as_of: int | None
    #: the last year the signals see: ``as_of``, or the latest first year of the basis
    year: int
    level: str
    basis: str
    #: places with any basis firm x leaf keys (chain_id|node_id): counts of firms
    counts: pd.DataFrame
    #: place -> its most similar places, most similar first
    peers: dict[str, tuple[str, ...]]
    #: places x leaf keys: share of the place's peers having the leaf
    peer_share: pd.DataFrame
    #: places of the level with coordinates x leaf keys: distance-weighted share
    nearby_share: pd.DataFrame
    #: leaf key -> entered, lacking, share, value (see :func:`spread_table`)
    spread: pd.DataFrame
    #: adcode -> (lon, lat) of every place of the level with coordinates
    coords: dict[str, tuple[float, float]]
    #: adcode -> name of every place of the level
    names: dict[str, str]

    def has(self, place: str | None, leaf: str) -> bool:
        """Whether ``place`` held a basis firm on ``leaf`` at the as-of year."""
        return _cell(self.counts, place, leaf) > 0

    def nearest_with(self, place: str | None, leaf: str,
                     within_km: float = NEAR_NAMED_KM) -> list[tuple[str, float]]:
        """The other places having ``leaf`` within ``within_km`` of ``place``, nearest
        first: (adcode, km)."""
        if place not in self.coords or leaf not in self.counts:
            return []
        holders = [str(p) for p in self.counts.index[self.counts[leaf] > 0]
                   if str(p) != place and str(p) in self.coords]
        if not holders:
            return []
        lon = np.array([self.coords[p][0] for p in holders])
        lat = np.array([self.coords[p][1] for p in holders])
        km = haversine_km(lon, lat, *self.coords[place])
        out = [(p, round(float(d))) for p, d in zip(holders, km, strict=True)
               if d <= within_km]
        return sorted(out, key=lambda pair: (pair[1], pair[0]))


# --------------------------------------------------------------------------- pure parts


def _cell(frame: pd.DataFrame, row: str | None, column: str) -> float:
    """frame[row, column] as a float, 0 when either is missing. Pure."""
    if row is None or row not in frame.index or column not in frame.columns:
        return 0.0
    # .at: one scalar lookup (~15 us); list indexing built a sub-frame (~0.9 ms), which
    # was most of a node record's cost
    return float(cast(float, frame.at[row, column]))


def peer_count(places: int) -> int:
    """How many peers a level with ``places`` places gives each place. Pure."""
    return max(0, min(places - 1, max(MIN_PEERS, round(PEERS_SHARE * places))))


def peer_table(counts: pd.DataFrame, k: int | None = None
               ) -> tuple[dict[str, tuple[str, ...]], pd.DataFrame]:
    """Each place's ``k`` most similar other places (cosine of binary presence over all
    leaves; ties by adcode) and the share of them having each leaf. Pure.

    A place without any leaf resembles nobody: no peers, shares 0.
    """
    has = (counts.sort_index() > 0).astype(float)
    places = [str(p) for p in has.index]
    k = peer_count(len(places)) if k is None else k
    matrix = has.to_numpy()
    norm = np.sqrt(matrix.sum(axis=1))
    safe = np.where(norm == 0, 1.0, norm)
    sim = (matrix @ matrix.T) / safe[:, None] / safe[None, :]
    np.fill_diagonal(sim, -1.0)
    # stable sort of the negated similarity: equal similarities keep adcode order
    order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    peers: dict[str, tuple[str, ...]] = {}
    share = np.zeros_like(matrix)
    for i, place in enumerate(places):
        if norm[i] == 0 or k == 0:
            peers[place] = ()
            continue
        peers[place] = tuple(places[j] for j in order[i])
        share[i] = matrix[order[i]].mean(axis=0)
    return peers, pd.DataFrame(share, index=has.index, columns=has.columns)


def nearby_table(counts: pd.DataFrame, coords: dict[str, tuple[float, float]],
                 scale_km: float = NEAR_SCALE_KM) -> pd.DataFrame:
    """For every place with coordinates (rows, adcode order): the share of the OTHER
    places of ``counts`` having each leaf, weighted by exp(-km / scale_km). Pure."""
    holders = [str(p) for p in counts.index if str(p) in coords]
    has = (counts.loc[holders] > 0).to_numpy(float) if holders else np.zeros(
        (0, len(counts.columns)))
    rows = sorted(coords)
    out = np.zeros((len(rows), len(counts.columns)))
    if holders:
        lon = np.array([coords[p][0] for p in holders])
        lat = np.array([coords[p][1] for p in holders])
        for i, place in enumerate(rows):
            weight = np.exp(-haversine_km(lon, lat, *coords[place]) / scale_km)
            weight[[j for j, p in enumerate(holders) if p == place]] = 0.0
            if weight.sum() > 0:
                out[i] = weight @ has / weight.sum()
    return pd.DataFrame(out, index=pd.Index(rows, name=counts.index.name),
                        columns=counts.columns)


def spread_table(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Per leaf (index): lacking = places without it in ``before``, entered = those of
    them having it in ``now``, share = entered / lacking (0 when none lacked), value =
    share / the largest share of any leaf (0 when none spread). Pure.

    Places missing from a frame have no firm there (a place new in ``now`` lacked
    everything before).
    """
    places = now.index.union(before.index)
    has_now = now.reindex(index=places, fill_value=0) > 0
    had = before.reindex(index=places, columns=now.columns, fill_value=0) > 0
    lacking = (~had).sum(axis=0)
    entered = (has_now & ~had).sum(axis=0)
    share = (entered / lacking.where(lacking > 0)).fillna(0.0)
    top = float(share.max()) if len(share) else 0.0
    value = share / top if top > 0 else share * 0.0
    return pd.DataFrame({"entered": entered.astype(int), "lacking": lacking.astype(int),
                         "share": share.round(4), "value": value.round(4)})


# --------------------------------------------------------------------------- query step


def _latest_year(db: Database, basis: str) -> int:
    year = db.scalar(compose("SELECT max(first_year) FROM chain_firms WHERE origin = {o}",
                             o=param(basis)))
    return int(year) if year is not None else 0


def _places(db: Database, level: str) -> tuple[dict[str, tuple[float, float]],
                                                dict[str, str]]:
    rows = db.rows(compose("SELECT adcode, name, lon, lat FROM regions WHERE level = {l} "
                           "ORDER BY adcode", l=param(level)))
    coords = {str(r["adcode"]): (float(r["lon"]), float(r["lat"])) for r in rows
              if r["lon"] is not None and r["lat"] is not None
              and not (math.isnan(float(r["lon"])) or math.isnan(float(r["lat"])))}
    return coords, {str(r["adcode"]): str(r["name"]) for r in rows}


def place_signals(db: Database, as_of: int | None, level: str = "city",
                  basis: str = "listed") -> PlaceSignals:
    """Build the signals of every place of ``level`` from the ``basis`` firms by
    ``as_of`` (None: all of them)."""
    year = as_of if as_of is not None else _latest_year(db, basis)
    counts = presence_all(db, as_of, level, basis)
    before = presence_all(db, year - MOMENTUM_YEARS, level, basis)
    coords, names = _places(db, level)
    peers, share = peer_table(counts)
    return PlaceSignals(as_of, year, level, basis, counts, peers, share,
                        nearby_table(counts, coords), spread_table(counts, before),
                        coords, names)


def signal_figures(signals: PlaceSignals, place: str | None, leaf: str) -> dict[str, Any]:
    """The peers, nearby and momentum figures of one place and leaf (values in [0, 1]
    and the raw counts behind them, for the components and the reasons)."""
    peers = signals.peers.get(place or "", ())
    holders = [p for p in peers if signals.has(p, leaf)]
    peer_value = _cell(signals.peer_share, place, leaf)
    near_value = _cell(signals.nearby_share, place, leaf)
    spread: dict[str, Any] = {"entered": 0, "lacking": 0, "share": 0.0, "value": 0.0}
    if leaf in signals.spread.index:
        spread = {str(k): v for k, v in signals.spread.loc[leaf].to_dict().items()}
    return {
        "peers": {"value": round(peer_value, 4), "peers": len(peers),
                  "with_node": len(holders), "examples": holders[:3]},
        "nearby": {"value": round(near_value, 4),
                   "nearest": signals.nearest_with(place, leaf)[:3],
                   "scale_km": NEAR_SCALE_KM},
        "momentum": {"value": round(float(spread["value"]), 4),
                     "entered": int(spread["entered"]), "lacking": int(spread["lacking"]),
                     "share": round(float(spread["share"]), 4),
                     "years": (signals.year - MOMENTUM_YEARS + 1, signals.year)}}
