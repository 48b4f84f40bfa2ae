"""Regional commands: ``region``, ``leaders``, ``map``, ``recommend nodes|firms``.

Each takes ``--universe`` (listed, registry, all; default all once registry firms are
loaded) and every output, table or ``--json``, says which firms it counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
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
    from chainatlas.store import Database
    from chainatlas.store.lookup import Chain, Region

recommend_app = typer.Typer(help="精准招商: which nodes to develop and which firms to approach.",
                            no_args_is_help=True)

ChainOption = Annotated[str, typer.Option("--chain", help="Chain id or Chinese name.")]
RegionOption = Annotated[str, typer.Option("--region", help="Region name or adcode.")]
AsOf = Annotated[int | None, typer.Option(
    "--as-of", help="Only firms founded or listed by this year.")]
Top = Annotated[int, typer.Option("--top", help="How many to show.")]


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
                    top: Top = 10, as_of: AsOf = None, universe: UniverseOption = None,
                    db: DbOption = None, as_json: JsonOption = False) -> None:
    """Chain leaders (链主), national and local, with their score components."""
    from chainatlas.analysis.leaders import chain_leaders

    with open_store(db, read_only=True) as store:
        place = _region(store, region) if region else None
        result = chain_leaders(store, _chain(store, chain), place, top, as_of,
                               universe_of(store, universe))
    if as_json:
        print_json(result)
        return
    for key, title in (("national", "全国链主"), ("local", "本地链主")):
        if key not in result:
            continue
        table = Table("#", "企业", "得分", "规模", "广度", "中心度", "环节",
                      title=f"{result['chain_name']} {title}{universe_title(result)}")
        for r in result[key]:
            c = r["components"]
            table.add_row(str(r["rank"]), r["short_name"], f"{r['score']:.3f}",
                          f"{c['scale']:.2f}", f"{c['breadth']:.2f}", f"{c['centrality']:.2f}",
                          str(r["nodes"] or ""))
        console.print(table)


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
                        "--xlsx", help="Also write an Excel workbook.")] = None) -> None:
    """Rank the chain's nodes to develop in a region (补链 / 延链 / 强链), with reasons."""
    from chainatlas.analysis.regional import describe_universe
    from chainatlas.recommend.nodes import rank_nodes

    if xlsx:
        check_target(xlsx)
    with open_store(db, read_only=True) as store:
        place = _region(store, region)
        stored = _chain(store, chain)
        about = describe_universe(store, universe_of(store, universe))
        result = rank_nodes(store, place, stored, as_of=as_of, top=top,
                            universe=about["universe"])
    if xlsx:
        _write_xlsx(xlsx, place, stored.name_zh, firms=[], nodes=result, about=about)
    if as_json:
        print_json(result)
        return
    print_node_ranking(result, place.name)


def _list_title(result: list[dict[str, Any]]) -> str:
    """A ranking's universe for its title (every item names the same one)."""
    return universe_title(result[0]) if result else ""


def print_node_ranking(result: list[dict[str, Any]], region_name: str) -> None:
    """Render ranked nodes with their reasons."""
    table = Table("#", "环节", "类型", "得分", "关联密度", "供应链邻接", "可招引", "理由",
                  title=f"{region_name} 重点发展环节{_list_title(result)}")
    for i, r in enumerate(result, start=1):
        c = r["components"]
        table.add_row(str(i), r["name_zh"], r["label"], f"{r['score']:.2f}",
                      f"{_value(c['density']):.2f}", f"{_value(c['adjacency']):.2f}",
                      f"{_value(c['availability']):.2f}", "；".join(r["reasons_zh"]))
    console.print(table)


@recommend_app.command("firms")
def recommend_firms(region: RegionOption, chain: ChainOption,
                    node: Annotated[str | None, typer.Option(
                        help="Node id or Chinese name.")] = None,
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
        about = describe_universe(store, universe_of(store, universe))
        result = rank_firms(store, place, stored, _node(stored, node), top=top, as_of=as_of,
                            universe=about["universe"])
    if xlsx:
        _write_xlsx(xlsx, place, stored.name_zh, firms=result, nodes=None, about=about)
    if as_json:
        print_json(result)
        return
    print_firm_ranking(result, place.name)


def print_firm_ranking(result: list[dict[str, Any]], region_name: str) -> None:
    """Render ranked target firms with their reasons."""
    table = Table("#", "企业", "城市", "得分", "匹配", "实力", "关联", "区位", "理由",
                  title=f"{region_name} 招商企业清单{_list_title(result)}")
    for r in result:
        c = r["components"]
        table.add_row(str(r["rank"]), r["short_name"], str(r.get("city") or ""),
                      f"{r['score']:.2f}", f"{_value(c['fit']):.2f}",
                      f"{_value(c['strength']):.2f}", f"{_value(c['links']):.2f}",
                      f"{_value(c['proximity']):.2f}", "；".join(r["reasons_zh"]))
    console.print(table)


def _value(component: Any) -> float:
    return float(component["value"] if isinstance(component, dict) else component)


def _write_xlsx(path: Path, region: Region, chain_name: str,
                firms: list[dict[str, Any]], nodes: list[dict[str, Any]] | None,
                about: dict[str, Any]) -> None:
    import datetime as dt

    from chainatlas.recommend.excel import write_recommendations_xlsx

    write_recommendations_xlsx(path, region_name=region.name, chain_name=chain_name,
                               generated_at=dt.datetime.now(), firms=firms, nodes=nodes,
                               universe=about["universe"], coverage_zh=about["coverage_zh"])
    console.print(f"Excel: {path}")
