"""What the resilience surfaces (CLI, API, web page, Excel) share on top of the library.

:mod:`chainatlas.analysis.resilience_report` computes; this module holds the few rules
the four surfaces must agree on, so each has one home:

- :func:`unit_status`: the colour class of a unit (单点风险, 依赖外部, 本地自给, 本地缺失)
  and, after a what-if, 本地断供 / 全国断供;
- :func:`split_removals`: ``--remove`` / ``remove=`` texts, each a firm or a region;
- :func:`resilience_view`: the resilience result and, when something is removed, the
  what-if at the same level, universe and θ (one call for every surface);
- :func:`theta_rows` / :func:`whatif_rows`: the θ sensitivity as table rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chainatlas.analysis.resilience import DEFAULT_THETA, THETAS, check_theta
from chainatlas.analysis.resilience_graph import LEVELS
from chainatlas.analysis.resilience_report import region_resilience, region_whatif
from chainatlas.errors import NotFoundError, ParameterError
from chainatlas.store import Database
from chainatlas.store.lookup import Region, firm_from_text, region_from_text

#: Colour classes of a unit, worst first (the graph's legend order).
STATUSES = ("lost_domestic", "lost_local", "spof", "dependent", "self", "missing", "outside")
STATUS_ZH = {
    "lost_domestic": "全国断供", "lost_local": "本地断供", "spof": "单点风险",
    "dependent": "依赖外部投入", "self": "本地可自给", "missing": "本地缺失",
    "outside": "不在韧性模型中"}
STATUS_HINTS_ZH = {
    "lost_domestic": "移除后全国已无可用供应（或上游断供而停摆）",
    "lost_local": "移除后本地不再有可用供应",
    "spof": "本地只有一家企业供应，它一旦退出本地即无供应",
    "dependent": "本地有两家以上企业，但只靠本地企业时因上游投入不足而无法运转",
    "self": "本地有两家以上企业，且只靠本地企业也能运转（所选 θ）",
    "missing": "本地没有该环节（产品）的企业",
    "outside": "非生产类叶子环节（流通、零售、服务或上级环节），不在模型中"}
#: Prefixes that say what a removal text names when a name could be both.
FIRM_PREFIX, REGION_PREFIX = "firm:", "region:"


def unit_status(unit: Mapping[str, Any], theta: float = DEFAULT_THETA,
                whatif: Mapping[str, Any] | None = None) -> str:
    """A unit's colour class (:data:`STATUSES`) at θ; ``whatif`` is the unit's record
    of a what-if result (its losses come first). Local supply is counted in firms, not
    shares: a region's share of national supply is small nearly everywhere (石家庄's
    mean outside dependence on 生物医药 is 0.99), so a share threshold would colour
    every node alike."""
    if whatif is not None:
        if whatif.get("lost_domestic"):
            return "lost_domestic"
        if whatif.get("lost_local"):
            return "lost_local"
    local = int(unit.get("local_firms") or 0)
    if local == 0:
        return "missing"
    if local == 1:
        return "spof"
    return "self" if unit.get(f"self_sufficient_{theta:g}") else "dependent"


def _strip(text: str, prefix: str) -> str | None:
    return text[len(prefix):].strip() if text.lower().startswith(prefix) else None


def split_removals(db: Database, texts: Sequence[str]
                   ) -> tuple[list[dict[str, Any]], list[Region]]:
    """(firm rows, regions) of removal texts. ``firm:X`` and ``region:X`` say which;
    otherwise a text naming a region (上海市, 310000) is the region, else a firm (name,
    code or id). NotFoundError when a text names neither."""
    firms: list[dict[str, Any]] = []
    regions: list[Region] = []
    for raw in texts:
        text = raw.strip()
        as_firm, as_region = _strip(text, FIRM_PREFIX), _strip(text, REGION_PREFIX)
        if as_firm is not None:
            firms.append(firm_from_text(db, as_firm))
        elif as_region is not None:
            regions.append(region_from_text(db, as_region))
        else:
            try:
                regions.append(region_from_text(db, text))
            except NotFoundError:
                firms.append(_firm_or_neither(db, text))
    return firms, regions


def _firm_or_neither(db: Database, text: str) -> dict[str, Any]:
    try:
        return firm_from_text(db, text)
    except NotFoundError as exc:
        raise NotFoundError(f"Nothing to remove named {text!r}: it names no region, and "
                            f"no firm either ({exc})") from None


def resilience_view(db: Database, region: Region | str, chain: Any, remove: Sequence[str] = (),
                    level: str = "node", universe: str | None = None,
                    theta: float = DEFAULT_THETA, as_of: int | None = None) -> dict[str, Any]:
    """``{"resilience": region_resilience(...), "whatif": whatif_view(...) | None}``,
    both at the same level, universe, θ and year; the what-if only when ``remove`` names
    something. ParameterError for a level or θ no model has."""
    check_options(level, theta)
    result = region_resilience(db, region, chain, level, universe, as_of, theta, top=50)
    whatif = (whatif_view(db, region, chain, remove, level, result["universe"], theta, as_of)
              if remove else None)
    return {"resilience": result, "whatif": whatif}


def whatif_view(db: Database, region: Region | str, chain: Any, remove: Sequence[str],
                level: str = "node", universe: str | None = None,
                theta: float = DEFAULT_THETA, as_of: int | None = None) -> dict[str, Any]:
    """:func:`~chainatlas.analysis.resilience_report.region_whatif` of the firms and
    regions ``remove`` names (:func:`split_removals`), its ``removed`` naming the firms
    (``firm_names``, and ``firms_not_in_network_names`` for the named firms the chain's
    network does not hold)."""
    check_options(level, theta)
    firms, regions = split_removals(db, remove)
    whatif = region_whatif(db, region, chain, [str(f["company_id"]) for f in firms], regions,
                           level, universe, as_of, theta)
    names = {str(f["company_id"]): str(f.get("short_name") or f.get("full_name")
                                         or f["company_id"]) for f in firms}
    removed = whatif["removed"]
    removed["firm_names"] = list(names.values())
    removed["firms_not_in_network_names"] = [names.get(str(f), str(f))
                                             for f in removed["firms_not_in_network"]]
    return whatif


def check_options(level: str, theta: float) -> None:
    """ParameterError (a clean message, HTTP 422) for an unknown level or a θ outside
    (0, 1], instead of the library's ValueError."""
    if level not in LEVELS:
        raise ParameterError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    try:
        check_theta(theta)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None


def theta_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per θ of :data:`THETAS`: how many units the region keeps supplied on its own."""
    summary = result["summary"]
    return [{"theta": t, "self_sufficient": int(summary["self_sufficient"][f"{t:g}"]),
             "units_with_local_supply": int(summary["units_with_local_supply"]),
             "units": int(summary["units"]), "chosen": t == result["theta"]} for t in THETAS]


def whatif_rows(whatif: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per θ of a what-if: units losing local and domestic supply and the shares."""
    rows = []
    for key, run in whatif["by_theta"].items():
        rows.append({"theta": float(key), "chosen": float(key) == float(whatif["theta"]),
                     "lost_local": len(run.get("lost_local", [])),
                     "share_local_affected": run.get("share_local_affected"),
                     "lost_domestic": len(run["lost_domestic"]),
                     "share_chain_affected": run["share_chain_affected"],
                     "lost_self_sufficiency": len(run.get("lost_self_sufficiency", [])),
                     "lost_local_names": [u["name_zh"] for u in run.get("lost_local", [])],
                     "feeding_region_names": [
                         u["name_zh"] for u in run.get("lost_domestic_feeding_region", [])],
                     "lost_domestic_names": [u["name_zh"] for u in run["lost_domestic"]]})
    return sorted(rows, key=lambda r: r["theta"])


def removed_zh(whatif: Mapping[str, Any]) -> str:
    """What a what-if removed, in Chinese: 上海市全部企业、华北制药 (N 家企业)."""
    removed = whatif["removed"]
    parts = [f"{r['name']}全部企业" for r in removed.get("regions", [])]
    parts += [str(f) for f in removed.get("firm_names", removed["firms"])]
    text = "、".join(parts) or "无"
    return f"{text}（网络中共移除 {removed['firms_removed']} 家企业）"


def firms_zh(result: Mapping[str, Any]) -> str:
    """How many firms the network holds and how many of them are known only on an inner
    node (spread over its leaves), the figure the limits refer to."""
    text = f"网络中企业 {int(result.get('firms') or 0):,} 家"
    inner = int(result.get("inner_only_firms") or 0)
    return text + (f"；其中只知上级环节、分摊到下属环节的企业 {inner:,} 家" if inner else "")


def listed_units(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The units a table lists: every node; at product level (hundreds of products) the
    region's own products and those of 卡脖子 nodes (exports keep them all)."""
    units = list(result["units"])
    if result["level"] != "product":
        return units
    return [u for u in units if u["local_firms"] or u["chokepoints"]]


def whatif_units(whatif: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """unit_id -> the unit's what-if record ({} without a what-if)."""
    return {} if whatif is None else {str(u["unit_id"]): u for u in whatif["units"]}
