"""Chain leaders (链主): the firms that anchor a chain, or one node, nationally or in a region.

Score = (LEADER_WEIGHTS · components) × risk factor (:mod:`chainatlas.analysis.weights`,
:mod:`chainatlas.analysis.risk`); each component is in [0, 1]:

- scale — the size of the firm's business on the chain: employees × the revenue share of
  its placing products (``chain_revenue_share``: the products that placed it on the
  chain's production nodes, or on the node asked for, capped at 1); employees alone when
  no product evidence exists; registered capital (× share) only for firms without an
  employee count (registry firms; a listed firm's capital is its share count). The figure
  is log-scaled against the largest one of its basis among the firms ranked:
  ln(1 + x) / ln(1 + max). Percentile ranks would squeeze the top of the list, where
  leaders are told apart, into a few hundredths: 恒瑞医药 and a firm a tenth its size both
  rank above the 95th percentile of a chain's 400 listed firms. Each record names its
  basis (``scale_basis``).
- breadth — the distinct nodes the firm is a primary business of (product share of at
  least :data:`chainatlas.chains.placements.PRIMARY_SHARE`, or placed without product
  evidence), its most specific placements only (a firm on 注射剂 and on its parent 化学
  制剂 counts once; a direct placement on a non-leaf node counts when no node below it is
  placed), divided by the most any ranked firm covers.
- centrality — a bonus: the percentile rank of the firm's PageRank in the chain's supply
  graph (``chain_centrality``) among firms with a supply link; 0 without one, so firms
  the graph does not reach lose nothing more.

Who can lead: chain-wide, firms with a primary business on a production node (a
distributor, pharmacy or service firm leads its own node only, a firm placed by a side
line never leads); on one node (``node``), firms with that node as a primary business, of
any node kind. Firms with risk factor 0 (delisting, PT, gone by 2025) never appear; ST
and *ST firms appear with half their score and their flags shown. Negative equity is not
in the data (:data:`chainatlas.analysis.risk.NOT_COVERED_ZH`).

Figures are national, so a local leader's score is comparable across regions, and taken
among the firms of one universe (``universe``: listed, registry or all; default ``all``
once registry firms are loaded, see :mod:`chainatlas.analysis.regional`), which the output
names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from chainatlas.analysis.explain import explain
from chainatlas.analysis.leader_figures import FIGURE_COLUMNS, chain_firm_figures
from chainatlas.analysis.regional import describe_universe
from chainatlas.analysis.risk import NOT_COVERED_ZH, risk_table, with_risk
from chainatlas.analysis.weights import LEADER_WEIGHTS
from chainatlas.chains.placements import PRIMARY_SHARE
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, ChainNode, Region, as_chain, as_region, as_universe
from chainatlas.store.query import compose, values

#: Kept for callers of the former name: the weights live in analysis.weights.
WEIGHTS = LEADER_WEIGHTS
#: Component names every output shows (web bars, tables, explain rows).
LABELS_ZH = {"scale": "规模", "breadth": "覆盖广度", "centrality": "供应链中心度"}
__all__ = ["FIGURE_COLUMNS", "chain_firm_figures", "chain_leaders", "leader_frame",
           "score_leaders"]


def percentile_rank(values: pd.Series) -> pd.Series:
    """Percentile rank within ``values``; a missing figure ranks 0."""
    return values.rank(pct=True, method="average", na_option="keep").fillna(0.0)


def num(value: Any) -> float | None:
    """A plain float, or None for missing values (NaN, NA, None)."""
    return None if value is None or pd.isna(value) else float(value)


# --------------------------------------------------------------------------- scoring


#: The figure that scales to 0: this quantile of the basis' figures among the firms ranked.
SCALE_FLOOR = 0.10
#: Registry capitals are read up to this quantile of those read (see scale_basis).
CAPITAL_CEILING = 0.99
#: Firms with both an employee count and a capital needed to read staff from capital.
MIN_FIT = 30


def staff_from_capital(employees: pd.Series, capital: pd.Series
                       ) -> tuple[float, float, float] | None:
    """(a, b, most) of ln(employees) = a + b · ln(capital), least squares over the firms
    with both figures (listed firms), and the largest capital among them; None with
    fewer than MIN_FIT of them or a slope ≤ 0. Pure.

    The fit shrinks towards the mean (b ≈ 0.65 on the listed firms, ln-correlation
    0.53), so a registry firm with a huge registered capital reads as a large firm, not
    as the largest of all; capital is read up to ``most`` only, since registry capitals
    beyond any listed firm's are mostly unit slips (141 Hubei registry firms carry
    1,000 亿元 or more: 湖北诺得胜制药, 9,746 亿元)."""
    both = employees.gt(0) & capital.gt(0)
    if int(both.sum()) < MIN_FIT:
        return None
    x, y = np.log(capital[both].astype(float)), np.log(employees[both].astype(float))
    slope, intercept = np.polyfit(x, y, 1)
    if slope <= 0:
        return None
    return float(intercept), float(slope), float(capital[both].max())


def scale_basis(employees: pd.Series, capital: pd.Series, share: pd.Series,
                fit: tuple[float, float, float] | None = None) -> pd.DataFrame:
    """scale_basis and scale_figure of each firm. Pure. Bases: ``employees`` (× share
    when the share is known), else ``capital_staff`` (staff read from capital by ``fit``),
    else ``capital`` (capital itself, when there is no fit), else ``none`` (figure NaN);
    a known share adds ``×share``."""
    people = employees.astype(float).where(employees.astype(float) > 0)
    money = capital.astype(float).where(capital.astype(float) > 0)
    known = share.astype(float).notna()
    factor = share.astype(float).fillna(1.0)
    if fit is not None:
        # the registry's largest capitals are riddled with 元 typed as 万元 (湖北: 270 rows
        # of 100 亿元 and more, against 23 in 广东): capital is read up to the 99th
        # percentile of the capitals being read, never beyond the largest listed one
        estimated = money[people.isna()].dropna()
        ceiling = min(fit[2], float(estimated.quantile(CAPITAL_CEILING))
                      ) if len(estimated) else fit[2]
        staff = pd.Series(np.exp(fit[0] + fit[1] * np.log(money.clip(upper=ceiling))),
                          index=money.index)
        size, fallback = people.fillna(staff), "capital_staff"
    else:
        size, fallback = people.fillna(money), "capital"
    basis = np.where(people.notna(), "employees", np.where(money.notna(), fallback, "none"))
    suffix = np.where(known & (basis != "none"), "×share", "")
    return pd.DataFrame({"scale_basis": np.char.add(basis.astype(str), suffix.astype(str)),
                         "scale_figure": size * factor}, index=employees.index)


def log_scaled(figures: pd.Series, floor: float, top: float) -> pd.Series:
    """(ln(1 + x) − ln(1 + floor)) / (ln(1 + top) − ln(1 + floor)), clipped to [0, 1];
    missing figures give 0, and every figure at ``top`` 1 when floor = top. Pure."""
    x = pd.Series(np.log1p(figures.astype(float).clip(lower=0)), index=figures.index)
    low, high = math.log1p(max(floor, 0.0)), math.log1p(max(top, 0.0))
    if high <= low:
        return (x >= high).astype(float).where(figures.notna(), 0.0)
    return ((x - low) / (high - low)).clip(0.0, 1.0).fillna(0.0)


def scale_component(firms: pd.DataFrame, floor_quantile: float = SCALE_FLOOR) -> pd.DataFrame:
    """scale_basis, scale_figure, scale_floor, scale_top and scale for each firm. Pure.

    Figures in persons (employees, or staff read from capital: :func:`staff_from_capital`)
    are scaled between the ``floor_quantile`` and the largest of them; with no fit (a
    frame of registry firms), capital figures between those of every firm's capital.
    Log-scaled, because firm sizes span four orders of magnitude; anchored at a low
    quantile rather than 0, so that a firm six times larger than another is told apart by
    more than the breadth and centrality bonuses make up (with ln(1 + x) / ln(1 + max),
    恒瑞医药's 19,611 employees scale 0.93 and 通化东宝's 3,196 0.76).
    """
    out = firms.copy()
    fit = staff_from_capital(out["employees"].astype(float),
                             out["registered_capital"].astype(float))
    picked = scale_basis(out["employees"], out["registered_capital"],
                         out["chain_revenue_share"], fit)
    out["scale_basis"], out["scale_figure"] = picked["scale_basis"], picked["scale_figure"]
    people = ~out["scale_basis"].str.startswith("capital×") & ~out["scale_basis"].eq(
        "capital")
    every_capital = (out["registered_capital"].astype(float)
                     * out["chain_revenue_share"].astype(float).fillna(1.0))
    bounds = {True: _bounds(out.loc[people, "scale_figure"].dropna(), floor_quantile),
              False: _bounds(every_capital[every_capital > 0], floor_quantile)}
    out["scale_floor"] = [bounds[bool(p)][0] for p in people]
    out["scale_top"] = [bounds[bool(p)][1] for p in people]
    out["scale"] = 0.0
    for by_people in (True, False):
        mask = people == by_people
        low, high = bounds[by_people]
        out.loc[mask, "scale"] = log_scaled(out.loc[mask, "scale_figure"], low, high)
    return out


def _bounds(figures: pd.Series, floor_quantile: float) -> tuple[float, float]:
    if figures.empty:
        return 0.0, 0.0
    return float(figures.quantile(floor_quantile)), float(figures.max())


def score_leaders(firms: pd.DataFrame, weights: Mapping[str, float] = LEADER_WEIGHTS
                  ) -> pd.DataFrame:
    """Add the components, ``raw_score`` (weights · components) and ``score`` (× the
    risk ``factor``, 1 when the frame has none) to :func:`chain_firm_figures`' frame;
    drop excluded firms (factor 0); sort best first. Pure: figures are scaled among the
    frame's own firms."""
    if firms.empty:
        return firms.assign(**{k: pd.Series(dtype=float) for k in (
            *weights, "raw_score", "score", "factor")})
    out = scale_component(firms)
    most = max(int(out["nodes_covered"].max()), 1)
    out["breadth"] = out["nodes_covered"].astype(float) / most
    # Firms with no supply edge all sit at PageRank's floor: they get 0, not a median rank.
    linked = out["pagerank"] > out["pagerank"].min() * (1 + 1e-9)
    out["centrality"] = out["pagerank"].where(linked).rank(pct=True).fillna(0.0)
    out["linked_firms"] = int(linked.sum())
    if "factor" not in out:
        out["factor"] = 1.0
    out["raw_score"] = sum(w * out[k] for k, w in weights.items())
    out["score"] = out["raw_score"] * out["factor"].astype(float)
    out = out[out["factor"] > 0]
    return out.sort_values(["score", "company_id"], ascending=[False, True])


# --------------------------------------------------------------------------- outputs


def leader_frame(db: Database, chain: Chain | str, as_of: int | None = None,
                 universe: str | None = None, node: str | None = None) -> pd.DataFrame:
    """The firms of the universe that can lead the chain (or ``node``), scored (national
    figures) with their risk flags, best first; excluded firms left out. ``attrs`` names
    the universe. Columns: :data:`FIGURE_COLUMNS`, the components, scale_basis,
    scale_figure, scale_top, linked_firms, flags, flags_zh, factor, raw_score, score."""
    chosen = as_universe(db, universe)
    chain = as_chain(db, chain)
    place = None if node is None else chain.node(node)
    figures = chain_firm_figures(db, chain, as_of, chosen, place)
    frame = score_leaders(with_risk(figures, risk_table(db)) if len(figures) else figures)
    frame.attrs["universe"] = chosen
    return frame


def chain_leaders(db: Database, chain: Chain | str, region: Region | str | None = None,
                  top: int = 10, as_of: int | None = None,
                  universe: str | None = None, node: str | None = None) -> dict[str, Any]:
    """National leaders of a chain (or of one ``node``: its id or Chinese name), and the
    region's own when a region is given, among the firms of ``universe`` (None: the
    default). Each record carries its components, their raw figures, ``explain`` rows
    and its risk flags."""
    chain = as_chain(db, chain)
    about = describe_universe(db, universe)
    place_node = None if node is None else chain.node(node)
    frame = leader_frame(db, chain, as_of, about["universe"],
                         None if place_node is None else place_node.node_id)
    place = None if region is None else as_region(db, region)
    local = None if place is None else (
        frame[frame[place.column] == place.adcode].head(top) if len(frame) else frame)
    shown = [*frame.head(top)["company_id"], *([] if local is None else local["company_id"])]
    labels = firm_labels(db, [str(c) for c in shown]) if shown else {}
    out: dict[str, Any] = {
        "chain_id": chain.chain_id, "chain_name": chain.name_zh, **about,
        "node": None if place_node is None else {
            "node_id": place_node.node_id, "name_zh": place_node.name_zh,
            "kind": place_node.kind},
        "weights": dict(LEADER_WEIGHTS), "labels_zh": LABELS_ZH, "as_of": as_of,
        "method_zh": method_zh(place_node), "risk_note_zh": NOT_COVERED_ZH,
        "national": leader_records(frame.head(top), labels, chain)}
    if place is not None and local is not None:
        out["region"] = place.summary()
        out["local"] = leader_records(local, labels, chain)
    return out


def method_zh(node: ChainNode | None) -> str:
    """One line on how leaders are chosen and scored, for every output."""
    who = (f"以「{node.name_zh}」为主营业务的企业" if node is not None
           else "在生产环节有主营业务的企业（流通、零售、服务类企业只在本环节排名）")
    parts = "、".join(f"{LABELS_ZH[k]} {w:.0%}" for k, w in LEADER_WEIGHTS.items())
    return (f"候选：{who}；主营指产品营收占比不低于 {PRIMARY_SHARE:.0%}（无产品数据的按主营计）。"
            f"得分 = {parts}，再乘风险系数（ST/*ST 0.5，退市/PT/2025 年已不在深交所名单者剔除）。")


def firm_labels(db: Database, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """company_id -> short_name, full_name, stock_code for the given firms."""
    rows = db.rows(compose(
        "SELECT company_id, short_name, full_name, stock_code FROM companies "
        "WHERE list_contains({ids}, company_id)", ids=values(ids)))
    return {str(r["company_id"]): r for r in rows}


def leader_records(frame: pd.DataFrame, labels: Mapping[str, Mapping[str, Any]],
                   chain: Chain) -> list[dict[str, Any]]:
    """Ranked leader dicts from a scored frame, named by :func:`firm_labels`: components,
    raw figures, ``explain`` rows (value × weight = points, the raw figure in Chinese),
    risk flags, ``score_before_risk``."""
    names = chain.names()
    out = []
    for rank, record in enumerate(frame.to_dict("records"), start=1):
        row = {str(k): v for k, v in record.items()}
        label = labels.get(str(row["company_id"]), {})
        components = {k: round(float(row[k]), 4) for k in LEADER_WEIGHTS}
        raw = _raw(row, names)
        out.append({
            "rank": rank, "company_id": row["company_id"],
            "short_name": label.get("short_name"), "full_name": label.get("full_name"),
            "stock_code": label.get("stock_code"), "origin": row["origin"],
            "nodes": "、".join(raw["primary_nodes_zh"]) or None,
            "score": round(float(row["score"]), 4),
            "score_before_risk": round(float(row["raw_score"]), 4),
            "components": components, "raw": raw,
            "explain": explain(components, LEADER_WEIGHTS, LABELS_ZH,
                               raw_zh(raw, components["centrality"])),
            "risk": {"flags": list(row.get("flags") or []),
                     "flags_zh": str(row.get("flags_zh") or ""),
                     "factor": float(row.get("factor", 1.0))}})
    return out


def _raw(row: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    share = num(row["chain_revenue_share"])
    return {"registered_capital": num(row["registered_capital"]),
            "employees": num(row["employees"]),
            "chain_revenue_share": None if share is None else round(share, 4),
            "scale_basis": row["scale_basis"], "scale_figure": num(row["scale_figure"]),
            "staff_estimate": _staff(row, share), "scale_floor": num(row["scale_floor"]),
            "scale_top": num(row["scale_top"]),
            "nodes_covered": int(row["nodes_covered"]),
            "primary_nodes": list(row["primary_nodes"]),
            "primary_nodes_zh": [names.get(n, n) for n in row["primary_nodes"]],
            "pagerank": round(float(row["pagerank"]), 6),
            "linked_firms": int(row["linked_firms"])}


def raw_zh(raw: Mapping[str, Any], centrality: float = 0.0) -> dict[str, str]:
    """component -> the figure behind it, in Chinese (``centrality``: the component's
    value, the PageRank's percentile among linked firms). Pure."""
    basis = str(raw["scale_basis"])
    share = raw["chain_revenue_share"]
    unit = "万元" if basis.startswith("capital×") or basis == "capital" else "人"
    if basis.startswith("employees"):
        size = f"员工 {_count(raw['employees'])} 人"
    elif basis.startswith("capital_staff"):
        size = (f"注册资本 {_count(raw['registered_capital'])} 万元，无员工数，"
                f"按上市企业注册资本与员工的关系折合约 {_count(raw['staff_estimate'])} 人")
    elif basis.startswith("capital"):
        size = f"注册资本 {_count(raw['registered_capital'])} 万元（无员工数）"
    else:
        return {"scale": "无员工数与注册资本", **_other_zh(raw, centrality)}
    size += (f" × 链上产品营收占比 {share:.0%} = {_count(raw['scale_figure'])}"
             if share is not None else "，无产品营收数据，按全部计")
    size += (f"；对数标度：{_count(raw['scale_floor'])} {unit}（第 {SCALE_FLOOR * 100:.0f} "
             f"百分位）为 0，{_count(raw['scale_top'])} {unit}（最大者）为 1")
    return {"scale": size, **_other_zh(raw, centrality)}


def _other_zh(raw: Mapping[str, Any], centrality: float) -> dict[str, str]:
    nodes = "、".join(raw["primary_nodes_zh"]) or "—"
    central = ("无供应链关联，不扣分" if not centrality else
               f"PageRank {raw['pagerank']:.4g}，高于 {centrality:.0%} 的"
               f"{raw['linked_firms']} 家有供应链关联企业")
    return {"breadth": f"主营 {raw['nodes_covered']} 个环节：{nodes}", "centrality": central}


def _staff(row: Mapping[str, Any], share: float | None) -> float | None:
    """The staff a capital-only firm's capital reads as (its scale figure before share)."""
    figure = num(row["scale_figure"])
    if not str(row["scale_basis"]).startswith("capital_staff") or figure is None:
        return None
    return round(figure / (share or 1.0), 1)


def _count(value: Any) -> str:
    number = num(value)
    return "—" if number is None else f"{number:,.0f}"
