"""Supply-chain resilience (产业链供应链韧性): the AND–OR model and its pure measures.

The model (:class:`Network`) is a set of *units* — a chain's production leaf nodes, or
the products of its listed firms — each needing its upstream units (AND) and supplied
by any of its firms (OR). :mod:`chainatlas.analysis.resilience_graph` builds it from the
store; everything here is pure (numpy and igraph on the structure, no store).

Semantics, each rule in one place:

- **Inputs.** Unit v's inputs are the units with an edge into it (template supply edges
  for nodes, product relations for products; edges carry no weight in the data). Only
  inputs that have at least one firm in the whole network at baseline count
  (``essential``): an input nobody in the data makes is bought from outside the data
  (abroad, or from firms the data misses), and no removal can change that.
- **Essentiality threshold θ** (:data:`THETAS`, default 0.5): v is *starved* when the
  share of its counted inputs that have no supply is at least θ. θ = 1 needs every
  input gone (the lenient reading: any one input keeps it running), θ = 0.25 a quarter
  (inputs are nearly all essential). A unit without counted inputs is never starved.
- **Supply at a scope.** Given which firms are available (all firms less those removed,
  or only a region's firms), v is *supplied* when at least one available firm makes it
  and it is not starved. Supplied-ness is the greatest fixed point of that rule
  (:func:`fixed_point`); the graph has cycles, and a cycle of units that all have firms
  sustains itself.
- **Domestic scope**: every firm in the store is available (less those removed).
  **Local supply** of a region: v has a local firm that is available and v is not
  starved at the domestic scope (a local firm buys its inputs anywhere in the country).
  **Self-sufficiency** (local scope): the fixed point over the region's firms alone —
  what would still run if the region could not buy from outside.
- **Concentration**: HHI (0–1) of the firms' size figures on the unit, the leaders'
  size rule (:func:`chainatlas.analysis.leaders.scale_basis`: employees × the share of
  the products that place the firm there, registry capital read as staff); firms with
  no figure are left out of the HHI and counted in ``hhi_firms``.
- **Local share of supply**: local / national size figures (and counts); outside
  dependence is 1 − local share by size.
- **Single point of failure (SPOF)**: a unit whose local supply hangs on one firm;
  ``dominates`` lists the end products (units that supply no other unit) every local
  supply path to which passes through the unit (igraph dominator tree, rooted at the
  region's entry units: local units none of whose inputs is made locally).
- **Influence** of a unit: the share of the other baseline-supplied units that lose
  domestic supply when every firm on the unit is removed (θ); ``local_influence``: the
  share of the region's other self-sufficient units that lose self-sufficiency when the
  region's firms on it are removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import igraph as ig
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

#: θ values every result is reported at, and the default one.
THETAS = (0.25, 0.5, 1.0)
DEFAULT_THETA = 0.5
#: Area levels a firm is located at (the firm columns of chainatlas.store.query).
AREA_LEVELS = ("province", "city", "district")
_EPS = 1e-9

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

LIMITS_ZH = (
    "供应关系不带权重：模板环节间的供应边与上市企业产品上下游关系只表示“有此投入”，不表示用量或可替代程度。",
    "产品级关系只覆盖 A 股上市企业 2021 年的主营产品（产业链知识图谱），"
    "非上市企业不在产品级网络中。",
    "工商登记企业按经营范围归入环节，只在环节级计为供应者；经营范围不等于实际产能。",
    "一家企业计为整个环节（或产品）的一个供应者，不含产能、产量和订单数据；"
    "无任何国内企业的上游投入视为从数据之外（进口等）获得，移除不影响它。",
    "只知大类、落在上级生产环节的企业（如只知“化学制剂”）计为其下每个生产叶子环节的供应者，"
    "规模平均分摊，会高估这些环节的可替代企业数（其数量见摘要）；"
    "流通、零售、服务类环节不在韧性模型中。",
)
LIMITS = (
    "Edges are unweighted: a template edge or a product relation says an input exists, "
    "not how much of it is used or how substitutable it is.",
    "Product-level relations cover the main products of A-share listed firms in 2021 "
    "(the chain knowledge graph) only.",
    "Registry firms are placed by their business scope and count as suppliers at node "
    "level only; a scope is not a capacity.",
    "A firm counts as one supplier of the whole node or product (no capacity, volume or "
    "orders); an input no domestic firm makes is taken to come from outside the data.",
    "Firms placed only on an inner production node count as suppliers of every production "
    "leaf below it, their size split evenly, which overstates substitutes there (see "
    "inner_only_firms); trade, retail and service nodes are not in the model.",
)


def limits(level: str) -> dict[str, list[str]]:
    """What the data can and cannot show, for every output (``limits_zh``, ``limits``)."""
    skip = 2 if level == "product" else 1  # product networks hold no registry firm
    zh = [t for i, t in enumerate(LIMITS_ZH) if i != skip]
    en = [t for i, t in enumerate(LIMITS) if i != skip]
    return {"limits_zh": zh, "limits": en}


def check_theta(theta: float) -> float:
    """θ as a float in (0, 1]; ValueError otherwise."""
    value = float(theta)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"essentiality threshold θ must lie in (0, 1], not {theta!r}")
    return value


@dataclass(frozen=True)
class Network:
    """Units, their input edges and their firms (one membership row per firm and unit).

    ``edges`` are (up, down) unit indices; ``member_unit``/``member_firm``/``member_size``
    are parallel arrays; ``firm_area[level]`` holds each firm's adcode at that level
    ('' when unknown). Derived arrays are computed once, so every removal is cheap.
    """

    level: str
    units: tuple[str, ...]
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    member_unit: Ints
    member_firm: Ints
    member_size: Floats
    firm_ids: tuple[str, ...]
    firm_names: tuple[str, ...]
    firm_area: Mapping[str, npt.NDArray[np.str_]]
    meta: Mapping[str, Any] = field(default_factory=dict)
    inputs: sparse.csr_matrix = field(init=False, repr=False, compare=False)
    national: Ints = field(init=False, repr=False, compare=False)
    degree: Floats = field(init=False, repr=False, compare=False)
    ends: Bools = field(init=False, repr=False, compare=False)
    member_area: dict[str, npt.NDArray[np.str_]] = field(init=False, repr=False,
                                                         compare=False)

    def __post_init__(self) -> None:
        n = len(self.units)
        national = np.bincount(self.member_unit, minlength=n).astype(np.int64)
        ups = np.array([a for a, _ in self.edges], dtype=np.int64)
        downs = np.array([b for _, b in self.edges], dtype=np.int64)
        counted = national[ups] > 0 if len(ups) else np.zeros(0, dtype=bool)
        # M[v, u] = 1 when u is a counted input of v (duplicates collapse to 1)
        matrix = sparse.csr_matrix((np.ones(int(counted.sum())), (downs[counted],
                                    ups[counted])), shape=(n, n))
        matrix.data[:] = 1.0
        ends = np.ones(n, dtype=bool)
        ends[ups] = False
        self._set("inputs", matrix)
        self._set("national", national)
        self._set("degree", np.asarray(matrix.sum(axis=1)).ravel())
        self._set("ends", ends)
        self._set("member_area", {lv: a[self.member_firm] for lv, a in self.firm_area.items()})

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @property
    def size(self) -> int:
        """How many units."""
        return len(self.units)

    def counts(self, keep: Bools | None = None) -> Ints:
        """Firms per unit among the membership rows ``keep`` selects (all when None)."""
        if keep is None:
            return self.national
        return np.bincount(self.member_unit[keep], minlength=self.size).astype(np.int64)

    def in_area(self, level: str, adcode: str) -> Bools:
        """Membership rows whose firm lies in the area."""
        if level not in self.member_area:
            raise ValueError(f"unknown area level {level!r}")
        return np.asarray(self.member_area[level] == adcode, dtype=bool)

    def firm_rows(self, firms: Sequence[int]) -> Bools:
        """Membership rows of the given firm indices."""
        chosen = np.zeros(len(self.firm_ids), dtype=bool)
        chosen[np.asarray(list(firms), dtype=np.int64)] = True
        return np.asarray(chosen[self.member_firm], dtype=bool)


# --------------------------------------------------------------------------- the fixed point


def fixed_point(net: Network, counts: Ints, theta: float = DEFAULT_THETA
                ) -> tuple[Bools, Bools]:
    """(supplied, starved) per unit, given the available firms per unit (``counts``).

    Starts from "every unit with a firm is supplied" and removes starved units until
    nothing changes. Termination and uniqueness: the supplied set never grows — if
    S(k) ⊆ S(k−1) then more inputs have failed at step k, so the starved set can only
    grow and S(k+1) ⊆ S(k); S(1) ⊆ S(0) holds by construction. A shrinking subset of
    n units stops changing within n + 1 steps, at the greatest fixed point.
    """
    theta = check_theta(theta)
    has = counts > 0
    supplied = has.copy()
    need = theta * net.degree - _EPS
    starved = np.zeros(net.size, dtype=bool)
    for _ in range(net.size + 1):
        failed = net.inputs @ (~supplied).astype(np.float64)
        starved = (net.degree > 0) & (failed >= need)
        new = has & ~starved
        if np.array_equal(new, supplied):
            break
        supplied = new
    return supplied, starved


# --------------------------------------------------------------------------- concentration


def hhi(net: Network, keep: Bools | None = None) -> tuple[Floats, Ints]:
    """(HHI in [0, 1] or NaN, firms with a size figure) per unit, over the rows kept."""
    rows = np.ones(len(net.member_unit), dtype=bool) if keep is None else keep
    known = rows & np.isfinite(net.member_size) & (net.member_size > 0)
    units, sizes = net.member_unit[known], net.member_size[known]
    total = np.bincount(units, weights=sizes, minlength=net.size)
    squares = np.bincount(units, weights=sizes * sizes, minlength=net.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(total > 0, squares / (total * total), np.nan)
    return value, np.bincount(units, minlength=net.size).astype(np.int64)


def size_sum(net: Network, keep: Bools | None = None) -> Floats:
    """Summed size figures per unit over the rows kept (unknown figures count 0)."""
    sizes = np.nan_to_num(net.member_size, nan=0.0)
    units = net.member_unit if keep is None else net.member_unit[keep]
    weights = sizes if keep is None else sizes[keep]
    return np.bincount(units, weights=weights, minlength=net.size).astype(np.float64)


# --------------------------------------------------------------------------- influence


def removal_loss(net: Network, counts: Ints, removed: Ints, theta: float,
                 baseline: Bools) -> Bools:
    """Units of ``baseline`` that lose supply when ``removed`` firms per unit go."""
    supplied, _ = fixed_point(net, counts - removed, theta)
    return baseline & ~supplied


def unit_influence(net: Network, theta: float = DEFAULT_THETA,
                   counts: Ints | None = None) -> Floats:
    """Per unit: share of the OTHER units supplied at baseline (``counts``, national by
    default) that lose supply when every firm counted on the unit is removed."""
    base_counts = net.national if counts is None else counts
    baseline, _ = fixed_point(net, base_counts, theta)
    out = np.zeros(net.size)
    others = max(int(baseline.sum()) - 1, 1)
    # a unit that feeds no other unit starves none: only units with counted successors
    # need a fixed point (a product network has thousands of units and a few hundred edges)
    feeds = np.asarray(net.inputs.sum(axis=0)).ravel() > 0
    for u in np.flatnonzero(baseline & feeds):
        removed = np.zeros(net.size, dtype=np.int64)
        removed[u] = base_counts[u]
        lost = removal_loss(net, base_counts, removed, theta, baseline)
        lost[u] = False
        out[u] = lost.sum() / others
    return out


def downstream_share(net: Network) -> Floats:
    """Per unit: share of the other units reachable from it along input edges (θ-free)."""
    graph = ig.Graph(n=net.size, edges=list(net.edges), directed=True)
    reach = graph.neighborhood(order=net.size, mode="out", mindist=1)
    return np.array([len(r) for r in reach], dtype=np.float64) / max(net.size - 1, 1)


def dominated_ends(net: Network, present: Bools) -> dict[int, list[int]]:
    """unit -> end units it dominates among the ``present`` units (module docs).

    Vertex n is the root; it links to each present unit none of whose inputs is
    present (an entry point: it draws its inputs from outside the region)."""
    keep = [(a, b) for a, b in net.edges if present[a] and present[b] and a != b]
    has_local_input = np.zeros(net.size, dtype=bool)
    for _, b in keep:
        has_local_input[b] = True
    root = net.size
    entries = [(root, int(v)) for v in np.flatnonzero(present & ~has_local_input)]
    graph = ig.Graph(n=net.size + 1, edges=keep + entries, directed=True)
    idom = graph.dominator(root, mode="out")
    out: dict[int, list[int]] = {}
    for end in np.flatnonzero(present & net.ends):
        step = idom[end]
        while isinstance(step, int) and step not in (-1, root):
            out.setdefault(step, []).append(int(end))
            step = idom[step]
    return out


# --------------------------------------------------------------------------- region frame


@dataclass(frozen=True)
class Place:
    """A region as the measures need it: its level, adcode and province adcode."""

    level: str
    adcode: str
    province: str


def local_self_sufficiency(net: Network, local: Ints) -> dict[float, Bools]:
    """θ -> which units the region's firms alone keep supplied (local scope)."""
    return {theta: fixed_point(net, local, theta)[0] for theta in THETAS}


def local_influence(net: Network, local: Ints, theta: float) -> Floats:
    """Per unit: share of the region's other self-sufficient units lost when the
    region's firms on it are removed (local scope)."""
    return unit_influence(net, theta, local)


@dataclass(frozen=True)
class Statics:
    """Figures of a network that no region changes, computed once per network and θ."""

    theta: float
    influence: Floats
    downstream: Floats
    hhi: Floats
    hhi_firms: Ints
    national_size: Floats


def statics_from_network(net: Network, theta: float = DEFAULT_THETA) -> Statics:
    """The region-independent figures of :func:`region_frame` (influence, reach, HHI)."""
    value, firms = hhi(net)
    return Statics(check_theta(theta), unit_influence(net, theta), downstream_share(net),
                   value, firms, size_sum(net))


def region_frame(net: Network, place: Place, theta: float = DEFAULT_THETA,
                 statics: Statics | None = None) -> pd.DataFrame:
    """Per unit for the region: supplier counts (local, province, national), HHI,
    local share of supply, outside dependence, self-sufficiency at every θ, SPOF,
    dominated end units and influence (module docs). Pure."""
    fixed = statics if statics is not None and statics.theta == theta else (
        statics_from_network(net, theta))
    local_rows = net.in_area(place.level, place.adcode)
    local = net.counts(local_rows)
    local_size = size_sum(net, local_rows)
    dominated = dominated_ends(net, local > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_size = np.where(fixed.national_size > 0, local_size / fixed.national_size,
                              np.nan)
        share_count = np.where(net.national > 0, local / net.national, np.nan)
    sole = sole_firms(net, local_rows, local)
    frame = pd.DataFrame({
        "unit_id": list(net.units), "name_zh": list(net.names),
        "local_firms": local,
        "province_firms": net.counts(net.in_area("province", place.province)),
        "national_firms": net.national,
        "inputs": net.degree.astype(np.int64), "end_product": net.ends,
        "hhi": fixed.hhi, "hhi_firms": fixed.hhi_firms,
        "hhi_local": hhi(net, local_rows)[0],
        "local_share_count": share_count, "local_share_size": share_size,
        "outside_dependence": outside_dependence(local, share_size, share_count),
        **{f"self_sufficient_{t:g}": s for t, s in local_self_sufficiency(net, local).items()},
        "single_local_firm": local == 1,
        "sole_firm_id": [sole.get(u, (None, None))[0] for u in range(net.size)],
        "sole_firm_name": [sole.get(u, (None, None))[1] for u in range(net.size)],
        "dominates": [[net.units[e] for e in dominated.get(u, [])] for u in range(net.size)],
        "influence": fixed.influence, "local_influence": local_influence(net, local, theta),
        "downstream_share": fixed.downstream})
    frame.attrs.update({"theta": theta, **limits(net.level)})
    return frame


def outside_dependence(local: Ints, share_size: Floats, share_count: Floats) -> Floats:
    """1 − the local share of supply: by size, by count where no local size figure is
    known, 1 where the region has no firm on the unit. Pure."""
    share = np.where(np.isfinite(share_size) & (share_size > 0), share_size,
                     np.nan_to_num(share_count))
    return np.where(local > 0, 1.0 - share, 1.0)


def sole_firms(net: Network, rows: Bools, local: Ints) -> dict[int, tuple[str, str]]:
    """unit -> (firm id, name) for units with exactly one firm among ``rows``."""
    pick = rows & (local[net.member_unit] == 1)
    return {int(u): (net.firm_ids[f], net.firm_names[f])
            for u, f in zip(net.member_unit[pick], net.member_firm[pick], strict=True)}


def spof_table(frame: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """The region's single points of failure from :func:`region_frame`: units with one
    local firm, most dominated end products first, then local influence, influence, and
    fewest firms nationally (the hardest to replace)."""
    spof = frame[frame["single_local_firm"]].copy()
    spof["dominated_ends"] = spof["dominates"].map(len)
    spof = spof.sort_values(
        ["dominated_ends", "local_influence", "influence", "national_firms", "unit_id"],
        ascending=[False, False, False, True, True])
    return spof if top is None else spof.head(top)
