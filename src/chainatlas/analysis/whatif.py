"""What-if removal (断供推演) and Monte-Carlo removal curves on a resilience network.

A removal takes firms out of the network — named firms, every firm of some areas (all of
上海市), or both — and propagates to the fixed point of
:func:`chainatlas.analysis.resilience.fixed_point` at each θ of
:data:`~chainatlas.analysis.resilience.THETAS`. Reported, for the network and for the
region looked at:

- units that lose all domestic supply (supplied at baseline, not after) and the share of
  the chain's supplied units they make (``share_chain_affected``);
- of those, the ones that feed one of the region's supplied units
  (``lost_domestic_feeding_region``: what the region must now buy abroad or do without);
- the region's units that lose all local supply (a local firm and domestic supply at
  baseline; after, no available local firm or the unit is starved) and their share of
  the region's supplied units;
- the region's self-sufficient units that lose self-sufficiency;
- per unit, the share of its national size figure removed, and for the region's units the
  largest such share among their inputs (``input_removed_share``): how much of what the
  region buys was made by what was removed, even when substitutes remain.

Monte-Carlo curves (:func:`removal_curves`): the fraction of a population's firms removed
(the region's firms, or every firm) against the share of units losing supply (the
region's local supply, or domestic supply). ``random`` removes firms in a random order
(``runs`` seeded permutations; mean and 5–95 % band); ``size`` largest first (the
leaders' size figure, its largest over the firm's units); ``influence`` the firms whose
removal alone loses most units first (every sole supplier of a unit is measured by a
what-if, the others lose none), then by size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chainatlas.analysis.resilience import (
    DEFAULT_THETA,
    THETAS,
    Bools,
    Floats,
    Network,
    Place,
    check_theta,
    fixed_point,
    limits,
    size_sum,
)

#: Fractions of the population removed along a curve.
FRACTIONS = tuple(round(0.05 * i, 2) for i in range(11))
STRATEGIES = ("random", "size", "influence")
STRATEGIES_ZH = {"random": "随机移除", "size": "按规模从大到小移除",
                 "influence": "按影响力从高到低移除"}


@dataclass(frozen=True)
class Removal:
    """What is removed: firm ids and areas as (level, adcode)."""

    firms: tuple[str, ...] = ()
    areas: tuple[tuple[str, str], ...] = ()

    def rows(self, net: Network) -> Bools:
        """The membership rows of the removed firms."""
        index = {f: i for i, f in enumerate(net.firm_ids)}
        out = net.firm_rows([index[f] for f in self.firms if f in index])
        for level, adcode in self.areas:
            out |= net.in_area(level, adcode)
        return out


def _local_supplied(net: Network, local: np.ndarray[Any, Any], starved: Bools) -> Bools:
    return np.asarray((local > 0) & ~starved, dtype=bool)


def whatif_theta(net: Network, removed: Bools, theta: float,
                 place: Place | None = None) -> dict[str, Any]:
    """One removal at one θ: the module's figures, as unit index arrays. Pure."""
    theta = check_theta(theta)
    kept = ~removed
    before, starved0 = fixed_point(net, net.national, theta)
    after, starved1 = fixed_point(net, net.counts(kept), theta)
    out: dict[str, Any] = {"theta": theta, "domestic_before": before,
                           "domestic_after": after, "lost_domestic": before & ~after,
                           "starved": starved1 & ~starved0}
    if place is not None:
        local_rows = net.in_area(place.level, place.adcode)
        local0, local1 = net.counts(local_rows), net.counts(local_rows & kept)
        had = _local_supplied(net, local0, starved0)
        has = _local_supplied(net, local1, starved1)
        self0, _ = fixed_point(net, local0, theta)
        self1, _ = fixed_point(net, local1, theta)
        out.update({"local_before": had, "local_after": has, "lost_local": had & ~has,
                    "self_before": self0, "lost_self": self0 & ~self1})
    return out


def _share(part: Bools, whole: Bools) -> float:
    total = int(whole.sum())
    return round(float(part.sum()) / total, 4) if total else 0.0


def _named(net: Network, mask: Bools) -> list[dict[str, str]]:
    return [{"unit_id": net.units[i], "name_zh": net.names[i]} for i in np.flatnonzero(mask)]


def input_removed_share(net: Network, removed: Bools) -> tuple[Floats, Floats]:
    """(share of each unit's national size figure removed, the largest such share among
    each unit's inputs). Pure."""
    total = size_sum(net)
    gone = size_sum(net, removed)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, gone / total, 0.0)
    worst = np.zeros(net.size)
    for up, down in net.edges:
        worst[down] = max(worst[down], share[up])
    return share, worst


def whatif_result(net: Network, removal: Removal, place: Place | None = None,
                  theta: float = DEFAULT_THETA) -> dict[str, Any]:
    """The what-if of ``removal`` at every θ (summary per θ) and per unit at ``theta``.
    Pure: the network in, a dict out (``units`` is a list of records)."""
    removed = removal.rows(net)
    runs = {t: whatif_theta(net, removed, t, place) for t in sorted({*THETAS, theta})}
    summary = {f"{t:g}": _summary(net, r) for t, r in runs.items()}
    share, worst = input_removed_share(net, removed)
    main = runs[theta]
    frame = pd.DataFrame({
        "unit_id": list(net.units), "name_zh": list(net.names),
        "national_before": net.national, "national_after": net.counts(~removed),
        "removed_share_size": share.round(4), "input_removed_share": worst.round(4),
        "lost_domestic": main["lost_domestic"], "starved": main["starved"]})
    if place is not None:
        local_rows = net.in_area(place.level, place.adcode)
        frame["local_before"] = net.counts(local_rows)
        frame["local_after"] = net.counts(local_rows & ~removed)
        frame["lost_local"] = main["lost_local"]
        frame["lost_self_sufficiency"] = main["lost_self"]
    removed_firms = np.unique(net.member_firm[removed])
    known = set(net.firm_ids)
    return {"level": net.level, "theta": theta,
            "removed": {"firms": list(removal.firms),
                        "areas": [{"level": lv, "adcode": a} for lv, a in removal.areas],
                        "firms_removed": len(removed_firms),
                        "firms_not_in_network": [f for f in removal.firms
                                                 if f not in known],
                        "rows_removed": int(removed.sum())},
            "by_theta": summary, "units": frame.to_dict("records"), **limits(net.level)}


def _summary(net: Network, run: dict[str, Any]) -> dict[str, Any]:
    out = {"lost_domestic": _named(net, run["lost_domestic"]),
           "share_chain_affected": _share(run["lost_domestic"], run["domestic_before"]),
           "supplied_before": int(run["domestic_before"].sum()),
           "supplied_after": int(run["domestic_after"].sum())}
    if "lost_local" in run:
        feeds = np.zeros(net.size, dtype=bool)
        for up, down in net.edges:
            feeds[up] |= bool(run["local_before"][down])
        out.update({"lost_local": _named(net, run["lost_local"]),
                    "lost_domestic_feeding_region": _named(
                        net, run["lost_domestic"] & feeds),
                    "share_local_affected": _share(run["lost_local"], run["local_before"]),
                    "local_before": int(run["local_before"].sum()),
                    "lost_self_sufficiency": _named(net, run["lost_self"]),
                    "self_sufficient_before": int(run["self_before"].sum())})
    return out


# --------------------------------------------------------------------------- Monte Carlo


class _Curve:
    """A population and the measure of a curve, set up once for many removals."""

    def __init__(self, net: Network, place: Place | None, theta: float) -> None:
        self.net, self.theta = net, check_theta(theta)
        self.local_rows = (None if place is None
                           else net.in_area(place.level, place.adcode))
        rows = np.ones(len(net.member_unit), dtype=bool) if self.local_rows is None \
            else self.local_rows
        self.population = np.unique(net.member_firm[rows])
        self.baseline = self.supplied(np.zeros(len(net.firm_ids), dtype=bool))

    def supplied(self, gone: Bools) -> Bools:
        """Units still supplied (local supply, or domestic) with ``gone`` firms out."""
        kept = ~gone[self.net.member_firm]
        supplied, starved = fixed_point(self.net, self.net.counts(kept), self.theta)
        if self.local_rows is None:
            return supplied
        return np.asarray((self.net.counts(self.local_rows & kept) > 0) & ~starved,
                          dtype=bool)

    def lost_share(self, firms: np.ndarray[Any, Any]) -> float:
        """Share of baseline units lost when ``firms`` are removed."""
        gone = np.zeros(len(self.net.firm_ids), dtype=bool)
        gone[firms] = True
        return _share(self.baseline & ~self.supplied(gone), self.baseline)


def firm_order(net: Network, strategy: str, curve: _Curve) -> np.ndarray[Any, Any]:
    """The population's firms in the order a targeted strategy removes them."""
    firms = curve.population
    size = np.zeros(len(net.firm_ids))
    np.maximum.at(size, net.member_firm, np.nan_to_num(net.member_size))
    if strategy == "size":
        return firms[np.lexsort((firms, -size[firms]))]
    rows = np.ones(len(net.member_unit), dtype=bool) if curve.local_rows is None \
        else curve.local_rows
    counts = net.counts(rows)
    sole = np.unique(net.member_firm[rows & (counts[net.member_unit] == 1)])
    loss = np.zeros(len(net.firm_ids))
    for firm in sole:
        loss[firm] = curve.lost_share(np.array([firm]))
    return firms[np.lexsort((firms, -size[firms], -loss[firms]))]


def removal_curves(net: Network, place: Place | None = None,
                   fractions: Sequence[float] = FRACTIONS, runs: int = 50, seed: int = 0,
                   theta: float = DEFAULT_THETA,
                   strategies: Sequence[str] = STRATEGIES) -> pd.DataFrame:
    """Per strategy and fraction removed: mean, p05 and p95 of the share of units lost
    (targeted strategies have one run, so the three agree). Seeded, reproducible. Pure."""
    curve = _Curve(net, place, theta)
    n = len(curve.population)
    rows: list[dict[str, Any]] = []
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose from {STRATEGIES}")
        rng = np.random.default_rng(seed)
        orders = ([rng.permutation(curve.population) for _ in range(runs)]
                  if strategy == "random" else [firm_order(net, strategy, curve)])
        for fraction in fractions:
            k = round(float(fraction) * n)
            lost = np.array([curve.lost_share(order[:k]) for order in orders])
            rows.append({"strategy": strategy, "strategy_zh": STRATEGIES_ZH[strategy],
                         "fraction": float(fraction), "firms_removed": k,
                         "mean": float(lost.mean()), "p05": float(np.quantile(lost, 0.05)),
                         "p95": float(np.quantile(lost, 0.95))})
    frame = pd.DataFrame(rows)
    frame.attrs.update({"population": n, "baseline_units": int(curve.baseline.sum()),
                        "theta": theta, "seed": seed, "runs": runs, **limits(net.level)})
    return frame
