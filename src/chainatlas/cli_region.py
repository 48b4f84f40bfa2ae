"""Regional commands: ``region``, ``leaders``, ``map``, ``recommend nodes|firms``.

Each takes ``--universe`` (listed, registry, all; default all once registry firms are
loaded) and every output, table or ``--json``, says which firms it counted.
"""

from __future__ import annotations

from collections.abc import Callable
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
    universe_of,
    universe_title,
)

if TYPE_CHECKING:  # the store pulls in duckdb and pandas: not for --help
    from chainatlas.recommend.filters import TargetFilters
    from chainatlas.store import Database
    from chainatlas.store.lookup import Chain, Region

recommend_app = typer.Typer(help="精准招商: which nodes to develop and which firms to approach.",
                            no_args_is_help=True)

ChainOption = Annotated[str, typer.Option("--chain", help="Chain id or Chinese name.")]
RegionOption = Annotated[str, typer.Option("--region", help="Region name or adcode.")]
AsOf = Annotated[int | None, typer.Option(
    "--as-of", help="Only firms founded or listed by this year.")]
Top = Annotated[int, typer.Option("--top", help="How many to show.")]
ProvinceOption = Annotated[list[str] | None, typer.Option(
    "--province", help="Only firms in these provinces (names or adcodes; repeat the option "
    "or separate with commas).")]
ExcludeProvinceOption = Annotated[list[str] | None, typer.Option(
    "--exclude-province", help="Leave out firms in these provinces (names or adcodes; "
    "repeat or separate with commas).")]
OutsideOption = Annotated[bool, typer.Option(
    "--outside-province", help="Only firms outside the region's own province.")]
SizeOption = Annotated[list[str] | None, typer.Option(
    "--size", help="Only these size bands: large, medium, small (大型, 中型, 小型); repeat "
    "or separate with commas. Banded by employees, else by registered capital.")]
ListedOption = Annotated[bool | None, typer.Option(
    "--listed/--unlisted", help="Only listed firms, or only unlisted ones (default: both).")]
IncludeRiskOption = Annotated[bool, typer.Option(
    "--include-risk", help="Keep risk-flagged firms (ST, *ST, delisting), shown with their "
    "flags; by default they are left out.")]


def _region(store: Database, text: str) -> Region:
    """The region an option names (name or adcode), resolved once for the command."""
    from chainatlas.store.lookup import region_from_text

    return region_from_text(store, text)


def _chain(store: Database, text: str) -> Chain:
    """The stored chain an option names (id or Chinese name), resolved once."""
    from chainatlas.store.lookup import chain_from_text

    return chain_from_text(store, text)


def _node(chain: Chain, text: str | None) -> str | None:
    """The id of the node an option names (id or Chinese name), None when not given."""
    return None if text is None else chain.node(text).node_id


def region_command(name: Annotated[str, typer.Argument(help="Region name or adcode.")],
                   chain: ChainOption, as_of: AsOf = None, universe: UniverseOption = None,
                   db: DbOption = None, as_json: JsonOption = False) -> None:
    """A region's standing on a chain: per node local/national firms, LQ, 强/弱/缺."""
    from chainatlas.analysis.regional import region_profile

    with open_store(db, read_only=True) as store:
        place = _region(store, name)
        result = region_profile(store, place, _chain(store, chain), as_of,
                                universe_of(store, universe))
    if as_json:
        print_json(result)
        return
    print_region_profile(result)


def print_region_profile(result: dict[str, Any]) -> None:
    """Render a region profile as a table."""
    title = (f"{result['region']['name']} · {result['chain_name']}" + universe_title(result)
             + (f" · 截至 {result['as_of']} 年" if result["as_of"] else "")
             + f"  (叶节点 强 {result['summary']['强']} / 弱 {result['summary']['弱']} / "
             f"缺 {result['summary']['缺']})")
    table = Table("环节", "阶段", "全国", "本地", "区位商", "判断", "本地龙头", title=title)
    for node in result["nodes"]:
        indent = "  " * (int(node["level"]) - 1)
        style = {"强": "green", "弱": "yellow", "缺": "red"}[node["class"]]
        table.add_row(indent + node["name_zh"], node["stage"], str(node["national_firms"]),
                      str(node["local_firms"]), f"{node['lq']:.2f}",
                      f"[{style}]{node['class']}[/]",
                      "、".join(f["short_name"] for f in node["local_leaders"]))
    console.print(table)
    if "lq_basis" in result:
        console.print(f"[dim]{result['coverage_zh']}；{result['lq_basis']['note_zh']}[/]")


def leaders_command(chain: Annotated[str, typer.Argument(help="Chain id or Chinese name.")],
                    region: Annotated[str | None, typer.Option(
                        help="Also list this region's leaders.")] = None,
                    node: Annotated[str | None, typer.Option(
                        help="Leaders of this node (id or Chinese name) instead of the "
                        "chain's.")] = None,
                    top: Top = 10, as_of: AsOf = None, universe: UniverseOption = None,
                    db: DbOption = None, as_json: JsonOption = False) -> None:
    """Chain (or node) leaders (链主), national and local, each score broken down."""
    from chainatlas.analysis.leaders import chain_leaders

    with open_store(db, read_only=True) as store:
        place = _region(store, region) if region else None
        result = chain_leaders(store, _chain(store, chain), place, top, as_of,
                               universe_of(store, universe), node=node)
    if as_json:
        print_json(result)
        return
    print_leaders(result)


def print_leaders(result: dict[str, Any]) -> None:
    """Render national (and local) leaders: each score component with its raw figure and
    weight, the risk flags, how leaders are chosen."""
    from chainatlas.analysis.weights import LEADER_WEIGHTS

    scope = result["chain_name"] + (f" · {result['node']['name_zh']}"
                                    if result.get("node") else "")
    for key, title in (("national", "全国链主"), ("local", "本地链主")):
        if key not in result:
            continue
        table = Table("#", "企业", "得分", title=f"{scope} {title}{universe_title(result)}")
        print_ranking(table, result[key], LEADER_WEIGHTS, lambda r: [
            str(r["rank"]), escape(str(r["short_name"])), f"{r['score']:.3f}"],
            {"风险": risk_zh})
    for line in (result.get("method_zh"), result.get("risk_note_zh")):
        if line:
            console.print(f"[dim]{escape(str(line))}[/]")


def map_command(chain: ChainOption,
                node: Annotated[str | None, typer.Option(help="Node id or name.")] = None,
                level: Annotated[str, typer.Option(help="province or city.")] = "province",
                within: Annotated[str | None, typer.Option(
                    help="Only the cities of this province.")] = None,
                top: Annotated[int, typer.Option(help="Top firms per area.")] = 3,
                as_of: AsOf = None, universe: UniverseOption = None, db: DbOption = None,
                as_json: JsonOption = False) -> None:
    """Firm counts per province or city for a chain or node (招商地图 data)."""
    from chainatlas.analysis.mapdata import map_counts

    with open_store(db, read_only=True) as store:
        province = _region(store, within) if within else None
        stored = _chain(store, chain)
        result = map_counts(store, stored, _node(stored, node), level, province, top, as_of,
                            universe_of(store, universe))
    if as_json:
        print_json(result)
        return
    table = Table("地区", "企业数", "代表企业",
                  title=f"{result['chain_name']} {result['node_name'] or ''} 分布"
                        + universe_title(result))
    for area in result["areas"]:
        table.add_row(area["name"], str(area["firms"]), "、".join(area["top_firms"]))
    console.print(table)
    console.print(f"[dim]{result['coverage_zh']}[/]")


@recommend_app.command("nodes")
def recommend_nodes(region: RegionOption, chain: ChainOption, top: Top = 10,
                    as_of: AsOf = None, universe: UniverseOption = None, db: DbOption = None,
                    as_json: JsonOption = False,
                    xlsx: Annotated[Path | None, typer.Option(
                        "--xlsx", help="Also write an Excel workbook.")] = None,
                    all_kinds: Annotated[bool, typer.Option(
                        "--all-kinds", help="Also rank trade, retail, service and operator "
                                            "nodes (default: production nodes).")] = False,
                    ) -> None:
    """Rank the chain's nodes to develop in a region (补链 / 延链 / 强链), with reasons."""
    from chainatlas.analysis.regional import describe_universe
    from chainatlas.recommend.nodes import PRODUCTION_KINDS, rank_nodes

    if xlsx:
        check_target(xlsx)
    with open_store(db, read_only=True) as store:
        place = _region(store, region)
        stored = _chain(store, chain)
        about = describe_universe(store, universe_of(store, universe))
        result = rank_nodes(store, place, stored, as_of=as_of, top=top,
                            universe=about["universe"],
                            kinds=None if all_kinds else PRODUCTION_KINDS)
    if xlsx:
        _write_xlsx(xlsx, place, stored.name_zh, firms=[], nodes=result, about=about)
    if as_json:
        print_json(result)
        return
    print_node_ranking(result, place.name)
    if not all_kinds:
        console.print("[dim]只列生产环节；流通、零售、服务与运营环节随本地需求和许可而定，"
                      "加 --all-kinds 一并排名。[/]")


def _list_title(result: list[dict[str, Any]]) -> str:
    """A ranking's universe for its title (every item names the same one)."""
    return universe_title(result[0]) if result else ""


def print_node_ranking(result: list[dict[str, Any]], region_name: str) -> None:
    """Render ranked nodes: each score component with its raw figure and weight, and
    the reasons."""
    from chainatlas.analysis.weights import NODE_WEIGHTS

    table = Table("#", "环节", "类型", "得分",
                  title=f"{region_name} 重点发展环节{_list_title(result)}")
    print_ranking(table, result, NODE_WEIGHTS, lambda r: [
        str(r.get("rank") or ""), escape(str(r["name_zh"])), str(r["label"]),
        f"{r['score']:.2f}"], {"理由": lambda r: "；".join(r["reasons_zh"])})


@recommend_app.command("firms")
def recommend_firms(region: RegionOption, chain: ChainOption,
                    node: Annotated[str | None, typer.Option(
                        help="Node id or Chinese name.")] = None,
                    province: ProvinceOption = None,
                    exclude_province: ExcludeProvinceOption = None,
                    outside_province: OutsideOption = False, size: SizeOption = None,
                    listed: ListedOption = None, include_risk: IncludeRiskOption = False,
                    top: Top = 20, as_of: AsOf = None, universe: UniverseOption = None,
                    db: DbOption = None, as_json: JsonOption = False,
                    xlsx: Annotated[Path | None, typer.Option(
                        "--xlsx", help="Also write an Excel workbook.")] = None) -> None:
    """Rank outside firms to approach (招商清单), each score broken down, with reasons."""
    from chainatlas.analysis.regional import describe_universe
    from chainatlas.recommend.firms import rank_firms

    if xlsx:
        check_target(xlsx)
    with open_store(db, read_only=True) as store:
        place = _region(store, region)
        stored = _chain(store, chain)
        filters = target_filters(store, province=province, exclude_province=exclude_province,
                                 outside_province=outside_province, size=size,
                                 listed=listed, include_risk=include_risk)
        about = describe_universe(store, universe_of(store, universe))
        result = rank_firms(store, place, stored, _node(stored, node), top=top, as_of=as_of,
                            universe=about["universe"], filters=filters)
    if xlsx:
        _write_xlsx(xlsx, place, stored.name_zh, firms=result, nodes=None, about=about,
                    filters=filters)
    if as_json:
        print_json(result)
        return
    print_firm_ranking(result, place.name, filters)


# --------------------------------------------------------------------------- filters


def _words(values: list[str] | None) -> list[str]:
    """Option values split on commas (ASCII or full-width), blanks dropped."""
    return [part.strip() for value in values or []
            for part in value.replace("，", ",").split(",") if part.strip()]


def _provinces(store: Database, values: list[str] | None, option: str) -> list[Region]:
    """The provinces an option names; a ParameterError for a region of another level
    (a city would silently stand for its whole province otherwise)."""
    from chainatlas.errors import ParameterError

    places = [_region(store, text) for text in _words(values)]
    for text, place in zip(_words(values), places, strict=True):
        if place.level != "province":
            raise ParameterError(f"{option} {text}: {place.name} is not a province "
                                 "(name a province, e.g. 河北省 or 130000).")
    return list({p.adcode: p for p in places}.values())


def target_filters(store: Database, *, province: list[str] | None = None,
                   exclude_province: list[str] | None = None,
                   outside_province: bool = False, size: list[str] | None = None,
                   listed: bool | None = None, include_risk: bool = False) -> TargetFilters:
    """The target-list filters the options name, province names resolved to adcodes and
    kept as labels for the output's description."""
    from chainatlas.recommend.filters import TargetFilters, as_sizes

    keep = _provinces(store, province, "--province")
    drop = _provinces(store, exclude_province, "--exclude-province")
    labels = {key: "、".join(p.name for p in places)
              for key, places in (("provinces", keep), ("exclude_provinces", drop)) if places}
    return TargetFilters(
        provinces=tuple(p.adcode for p in keep), exclude_provinces=tuple(p.adcode for p in drop),
        outside_province=outside_province, sizes=as_sizes(size or []),
        listed=None if listed is None else "listed" if listed else "unlisted",
        exclude_risk=not include_risk, labels=labels)


# --------------------------------------------------------------------------- explanations


def explain_rows(record: dict[str, Any], weights: dict[str, float]) -> list[dict[str, Any]]:
    """A record's ``explain`` rows (:func:`chainatlas.recommend.excel.explained`)."""
    from chainatlas.recommend.excel import explained

    return explained(record, weights)


def add_explain_columns(table: Table, rows: list[dict[str, Any]]) -> list[str]:
    """A column per component (label and weight in the header); the component keys in
    column order."""
    for row in rows:
        table.add_column(f"{row['label_zh']} ×{row['weight']:.2f}", overflow="fold")
    return [str(row["component"]) for row in rows]


def explain_cells(rows: list[dict[str, Any]], keys: list[str]) -> list[str]:
    """The cells of :func:`add_explain_columns`: each component's value and, under it,
    its raw figure."""
    by_key = {str(r["component"]): r for r in rows}
    cells = []
    for key in keys:
        row = by_key.get(key)
        cells.append("" if row is None else f"{float(row['value']):.2f}" + (
            f"\n[dim]{escape(str(row['raw_zh']))}[/]" if row.get("raw_zh") else ""))
    return cells


def weights_line(rows: list[dict[str, Any]]) -> str:
    """The score formula with its weights, as the footer of a ranking table."""
    terms = " + ".join(f"{float(r['weight']):.2f}×{r['label_zh']}" for r in rows)
    return f"得分 = {terms}（各分项 0–1；权重见 chainatlas.analysis.weights）"


def risk_zh(record: dict[str, Any]) -> str:
    """A record's risk flags in Chinese ('' when it carries none)."""
    risk = record.get("risk")
    text = risk.get("flags_zh") if isinstance(risk, dict) else record.get("flags_zh")
    return str(text or "")


Cells = Callable[[dict[str, Any]], list[str]]


def print_ranking(table: Table, result: list[dict[str, Any]], weights: dict[str, float],
                  lead: Cells, trail: dict[str, Callable[[dict[str, Any]], str]]) -> None:
    """Fill and print a ranking table: the ``lead`` cells (the table's own columns), a
    column per score component, the ``trail`` columns (header -> cell); then the score
    formula with its weights and the risk flags."""
    rows = [explain_rows(record, weights) for record in result]
    keys = add_explain_columns(table, rows[0]) if rows else []
    for header in trail:
        table.add_column(header, overflow="fold")  # Chinese text has no spaces to wrap at
    for record, explained in zip(result, rows, strict=True):
        table.add_row(*lead(record), *explain_cells(explained, keys),
                      *(escape(cell(record)) for cell in trail.values()))
    console.print(table)
    if rows:
        console.print(f"[dim]{escape(weights_line(rows[0]))}[/]")
    flagged = [f"{r.get('short_name') or r.get('name_zh')}：{risk_zh(r)}"
               for r in result if risk_zh(r)]
    if flagged:
        console.print("[yellow]风险提示（得分已乘风险系数）：[/]" + escape("；".join(flagged)))


def print_firm_ranking(result: list[dict[str, Any]], region_name: str,
                       filters: TargetFilters | None = None) -> None:
    """Render ranked target firms: each score component with its raw figure and weight,
    risk flags, reasons, and the filters in force."""
    from chainatlas.analysis.weights import TARGET_WEIGHTS

    table = Table("#", "企业", "城市", "得分",
                  title=f"{region_name} 招商企业清单{_list_title(result)}")
    print_ranking(table, result, TARGET_WEIGHTS, lambda r: [
        str(r["rank"]), escape(str(r["short_name"] or r.get("full_name") or "")),
        escape(str(r.get("city") or "")), f"{r['score']:.2f}"],
        {"风险": risk_zh, "理由": lambda r: "；".join(r["reasons_zh"])})
    if filters is not None:
        console.print(f"[dim]筛选条件：{escape(filters.describe_zh())}[/]")


def _value(component: Any) -> float:
    return float(component["value"] if isinstance(component, dict) else component)


def _write_xlsx(path: Path, region: Region, chain_name: str,
                firms: list[dict[str, Any]], nodes: list[dict[str, Any]] | None,
                about: dict[str, Any], filters: TargetFilters | None = None) -> None:
    import datetime as dt

    from chainatlas.recommend.excel import write_recommendations_xlsx

    write_recommendations_xlsx(path, region_name=region.name, chain_name=chain_name,
                               generated_at=dt.datetime.now(), firms=firms, nodes=nodes,
                               universe=about["universe"], coverage_zh=about["coverage_zh"],
                               filters_zh=None if filters is None else filters.describe_zh())
    console.print(f"Excel: {path}")
