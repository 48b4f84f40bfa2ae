"""``chainatlas resilience``: a region's supply-chain resilience on a chain (韧性分析).

Per unit (a production leaf node, or with ``--level product`` a listed firm's product):
local / province / national supplier counts, concentration, local share and outside
dependence, self-sufficiency at every θ, the single points of failure and their sole
firms, influence, 卡脖子 marks; with ``--remove`` (firms or whole regions, repeatable) the
what-if. Every output ends with what the data can and cannot show.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chainatlas.cli_common import (
    DbOption,
    JsonOption,
    UniverseOption,
    check_target,
    console,
    open_store,
    print_json,
    progress_bar,
    universe_of,
    universe_title,
)

if TYPE_CHECKING:
    from chainatlas.store.lookup import Chain

#: Colour of each status in the tables (the web graph's colours in terminal names).
STATUS_STYLE = {"lost_domestic": "magenta", "lost_local": "magenta", "spof": "red",
                "dependent": "yellow", "self": "green", "missing": "dim"}
#: Product-level tables list the region's own products only (a chain has hundreds).
PRODUCT_ROWS_NOTE = "（产品级只列本地有企业或涉及卡脖子技术的 {shown} 个产品，共 {total} 个；" \
                    "--json / --xlsx 含全部）"

RemoveOption = Annotated[list[str] | None, typer.Option(
    "--remove", help="What-if: remove this firm (name, stock code or id) or every firm of "
    "this region (上海市, 310000); repeatable. Prefix firm: or region: when a name could be "
    "both.")]
ThetaOption = Annotated[float, typer.Option(
    "--theta", min=0.01, max=1.0, help="Essentiality threshold θ in (0, 1]: a unit stops "
    "when this share of its inputs has no supply (results are also given at 0.25, 0.5, 1).")]
LevelOption = Annotated[str, typer.Option(
    "--level", help="node (production leaf nodes, every firm of the universe) or product "
    "(listed firms' 2021 products).")]


def resilience_command(
        region: Annotated[str, typer.Argument(help="Region name or adcode.")],
        chain: Annotated[str, typer.Option("--chain", help="Chain id or Chinese name.")],
        remove: RemoveOption = None, theta: ThetaOption = 0.5, level: LevelOption = "node",
        top: Annotated[int, typer.Option("--top", help="Single points of failure shown.")] = 10,
        as_of: Annotated[int | None, typer.Option(
            "--as-of", help="Only firms founded or listed by this year.")] = None,
        universe: UniverseOption = None, db: DbOption = None, as_json: JsonOption = False,
        xlsx: Annotated[Path | None, typer.Option(
            "--xlsx", help="Also write an Excel workbook.")] = None) -> None:
    """Supply-chain resilience (韧性分析): single points of failure, outside dependence,
    卡脖子 marks, θ sensitivity; --remove runs a what-if."""
    from chainatlas.analysis.resilience_views import resilience_view
    from chainatlas.store.lookup import chain_from_text, region_from_text

    if xlsx:
        check_target(xlsx)
    with open_store(db, read_only=True) as store, progress_bar(None) as (bar, task):
        bar.update(task, description="韧性分析：构建供应网络")
        stored = chain_from_text(store, chain)
        view = resilience_view(store, region_from_text(store, region), stored, remove or [],
                               level, universe_of(store, universe), theta, as_of)
        bar.update(task, description="韧性分析：完成", total=1, completed=1)
    if xlsx:
        _write_xlsx(xlsx, view, stored)
    if as_json:
        print_json(view)
        return
    print_resilience(view["resilience"], top, stored)
    if view["whatif"] is not None:
        print_whatif(view["whatif"])
    print_limits(view["resilience"])


def _check(value: Any) -> str:
    return "[green]✓[/]" if value else "[dim]·[/]"


def _share(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1%}"


def _figure(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3f}"


def unit_table(result: dict[str, Any]) -> tuple[Table, int]:
    """The per-unit table and how many units it lists (the three counts share a cell, as
    do the three θ; the sole local firm is in the SPOF table)."""
    from chainatlas.analysis.resilience import THETAS
    from chainatlas.analysis.resilience_views import STATUS_ZH, listed_units, unit_status

    theta = float(result["theta"])
    units = listed_units(result)
    table = Table(title=f"{result['region']['name']} · {result['chain_name']} 韧性分析"
                        f"（{result['level_zh']}级{universe_title(result)} · θ={theta:g}）")
    # the unit's name must survive a narrow (80-column, piped) console: rich shrinks
    # folding columns first, so the name keeps a floor and the sole firm is left to the
    # SPOF table below
    table.add_column(result["level_zh"], overflow="fold", min_width=10)
    table.add_column("状态", no_wrap=True)
    for header in ("本地/本省/全国", "HHI", "外部依赖",
                   "自给 θ=" + "/".join(f"{t:g}" for t in THETAS), "影响力"):
        table.add_column(header, overflow="fold")
    table.add_column("卡脖子", overflow="fold")
    for u in units:
        status = unit_status(u, theta)
        table.add_row(
            escape(str(u["name_zh"])), f"[{STATUS_STYLE[status]}]{STATUS_ZH[status]}[/]",
            f"{u['local_firms']}/{u['province_firms']}/{u['national_firms']}",
            _figure(u["hhi"]), _share(u["outside_dependence"]),
            "".join(_check(u[f"self_sufficient_{t:g}"]) for t in THETAS),
            _figure(u["influence"]),
            f"[bold red]{escape('、'.join(u['chokepoints']))}[/]" if u["chokepoints"] else "")
    return table, len(units)


def print_resilience(result: dict[str, Any], top: int = 10, chain: Chain | None = None) -> None:
    """Render the per-unit table, the summary, θ sensitivity, SPOFs and 卡脖子 items."""
    from chainatlas.analysis.resilience_views import firms_zh, theta_rows

    table, shown = unit_table(result)
    console.print(table)
    if result["level"] == "product":
        console.print("[dim]" + PRODUCT_ROWS_NOTE.format(shown=shown,
                                                         total=len(result["units"])) + "[/]")
    s = result["summary"]
    console.print(
        f"{result['level_zh']} {s['units']} 个：有国内供应 {s['units_with_domestic_supply']}，"
        f"有本地供应 {s['units_with_local_supply']}，单点风险 {s['single_points_of_failure']}，"
        f"平均外部依赖度 {_share(s['outside_dependence_mean'])}；涉及卡脖子技术 "
        f"{s['chokepoint_units']} 个（其中本地无企业 "
        f"{s['chokepoint_units_without_local_supply']}）；{firms_zh(result)}")
    console.print("θ 敏感性（本地可自给单元数）：" + "；".join(
        f"θ={r['theta']:g} {r['self_sufficient']}" + ("（所选）" if r["chosen"] else "")
        for r in theta_rows(result)))
    _print_spof(result, top)
    _print_chokepoints(result, chain)


def _print_spof(result: dict[str, Any], top: int) -> None:
    names = {str(u["unit_id"]): str(u["name_zh"]) for u in result["units"]}
    spof = result["spof"][:top]
    if not spof:
        console.print("[green]本地没有单点风险（无仅一家本地企业供应的单元）。[/]")
        return
    table = Table("#", result["level_zh"], "唯一本地企业", "全国企业", "受其支配的终端产品",
                  "本地影响力", title="单点风险（本地仅一家企业供应）")
    for i, u in enumerate(spof, start=1):
        ends = "、".join(names.get(str(e), str(e)) for e in u["dominates"])
        table.add_row(str(i), escape(str(u["name_zh"])), escape(str(u["sole_firm_name"])),
                      str(u["national_firms"]), escape(ends), _figure(u["local_influence"]))
    console.print(table)


def _print_chokepoints(result: dict[str, Any], chain: Chain | None) -> None:
    items = result["chokepoints"]
    if not items:
        return
    names = chain.names() if chain is not None else {}
    table = Table("卡脖子技术", "对应环节", "本地企业", title="卡脖子技术（科技日报 2018）")
    for item in items:
        local = item["local_firms"]
        table.add_row(escape(str(item["name_zh"])),
                      escape("、".join(names.get(n, n) for n in local)),
                      str(sum(local.values())) if local else "0")
    console.print(table)


def print_whatif(whatif: dict[str, Any]) -> None:
    """Render a what-if: what was removed, and per θ what loses local / domestic supply."""
    from chainatlas.analysis.resilience_views import removed_zh, whatif_rows

    console.print(f"[bold]情景推演[/]：移除 {escape(removed_zh(whatif))}")
    missing = whatif["removed"].get("firms_not_in_network_names") or []
    if missing:
        console.print(f"[yellow]不在本链网络中（移除不影响结果）：{escape('、'.join(missing))}[/]")
    table = Table("θ", "失去本地供应", "占本地有供应", "失去全国供应", "占全链有供应",
                  "失去本地自给", "失去本地供应的单元", title="推演结果")
    for r in whatif_rows(whatif):
        table.add_row(f"{r['theta']:g}" + ("*" if r["chosen"] else ""), str(r["lost_local"]),
                      _share(r["share_local_affected"]), str(r["lost_domestic"]),
                      _share(r["share_chain_affected"]), str(r["lost_self_sufficiency"]),
                      escape("、".join(r["lost_local_names"]) or "—"))
    console.print(table)
    chosen = next(r for r in whatif_rows(whatif) if r["chosen"])
    if chosen["lost_domestic_names"]:
        console.print("全国断供（所选 θ）：" + escape("、".join(chosen["lost_domestic_names"])))
    if chosen["feeding_region_names"]:
        console.print("[bold]其中本地所需的上游投入[/]（须从境外或数据之外获得）："
                      + escape("、".join(chosen["feeding_region_names"])))


def print_limits(result: dict[str, Any]) -> None:
    """What the data can and cannot show, dim, one line each."""
    console.print("[dim]数据能说明什么、不能说明什么：[/]")
    for line in result["limits_zh"]:
        # no space after the bullet: rich would break the line there (Chinese has none)
        console.print(f"[dim]・{escape(str(line))}[/]")


def _write_xlsx(path: Path, view: dict[str, Any], chain: Chain) -> None:
    from chainatlas.recommend.resilience_excel import write_resilience_xlsx

    write_resilience_xlsx(path, view["resilience"], view["whatif"], node_names=chain.names())
    console.print(f"Excel: {path}")
