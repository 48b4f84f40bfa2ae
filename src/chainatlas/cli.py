"""The ``chainatlas`` command: a thin shell over the library.

Each command parses its options, calls one library function and renders the result.
Library errors (:class:`chainatlas.errors.ChainAtlasError`) are rendered in one place,
:func:`main`, as a clean message and a non-zero exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from chainatlas.cli_chains import chain_app, chains_app
from chainatlas.cli_common import (
    CleanErrorsGroup,
    DbOption,
    JsonOption,
    MirrorOption,
    check_encoding,
    check_target,
    console,
    open_store,
    print_json,
    progress_bar,
    report_error,
)
from chainatlas.cli_intake import drafts_app, intake_command
from chainatlas.cli_pipeline import pipeline_app, registry_command, synth_command
from chainatlas.cli_projects import projects_app
from chainatlas.cli_region import leaders_command, map_command, recommend_app, region_command
from chainatlas.cli_resilience import resilience_command
from chainatlas.cli_users import audit_command, users_app
from chainatlas.cli_web import serve_command
from chainatlas.config import mirror_from_env
from chainatlas.errors import ChainAtlasError, NotFoundError

app = typer.Typer(help="ChainAtlas 产业链招商图谱: industry-chain maps and precision "
                       "investment attraction.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False,
                  cls=CleanErrorsGroup)
data_app = typer.Typer(help="Acquire the open-data bundle.", no_args_is_help=True)
import_app = typer.Typer(help="Import a region's own data.", no_args_is_help=True)
export_app = typer.Typer(help="Export data for Excel.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(chains_app, name="chains")
app.add_typer(chain_app, name="chain")
app.add_typer(recommend_app, name="recommend")
app.add_typer(users_app, name="users")
app.add_typer(projects_app, name="projects")
app.command("intake")(intake_command)
app.add_typer(drafts_app, name="drafts")
app.add_typer(pipeline_app, name="pipeline")
data_app.command("synth")(synth_command)
data_app.command("registry")(registry_command)
app.command("region")(region_command)
app.command("leaders")(leaders_command)
app.command("map")(map_command)
app.command("resilience")(resilience_command)
app.command("audit")(audit_command)
app.command("serve")(serve_command)

@data_app.command("fetch")
def data_fetch(mirror: MirrorOption = None, registry: RegistryOption = None) -> None:
    """Download the open-data bundle (sha256-pinned) into the cache, or check a mirror;
    with --registry, the enterprise registry's files of those provinces too."""
    from chainatlas.sources import fetch

    folder = mirror_from_env(mirror)
    with progress_bar(len(fetch.BUNDLE)) as (bar, task):
        if folder is not None:
            bar.update(task, description=f"checking mirror {folder}")
            files = fetch.read_mirror(folder)
            bar.update(task, completed=len(files))
        else:
            def tick(spec: fetch.DataFile) -> None:
                bar.update(task, advance=1, description=f"fetched {spec.path}")
            files = fetch.fetch_bundle(progress=tick)
            bar.update(task, completed=len(files))
    table = Table("file", "bytes", "sha256", "pinned")
    for f in files:
        table.add_row(f.spec.path, f"{f.size:,}", f.sha256[:16] + "…",
                      "verified" if f.verified else "recorded")
    console.print(table)
    if registry:
        _fetch_registry(registry, mirror)


def _fetch_registry(registry: str, mirror: Path | None) -> None:
    """Get (or find) the registry files and check each against its pin."""
    from chainatlas.sources.registry_files import province_list, registry_files, resolve_registry
    from chainatlas.store.stats import REGISTRY_LICENCE

    provinces = province_list(registry)
    with progress_bar(len(registry_files(provinces))) as (bar, task):
        scan = resolve_registry(provinces, mirror, lambda spec: bar.update(
            task, advance=1, description=f"fetched {spec.path}"))
        verdicts: dict[str, int] = {"verified": 0, "recorded (no pin)": 0, "MISMATCH": 0}
        for found in scan.found:
            _, digest = found.read()
            key = ("recorded (no pin)" if found.spec.sha256 is None else
                   "verified" if digest == found.spec.sha256 else "MISMATCH")
            verdicts[key] += 1
            bar.update(task, advance=1, description=f"checked {found.spec.path}")
    console.print(f"Registry ({'、'.join(provinces)}): {len(scan.found)} files, "
                  + ", ".join(f"{v} {k}" for k, v in verdicts.items())
                  + f"; missing {len(scan.missing)}: "
                  + ("、".join(m.path for m in scan.missing) or "none"))
    console.print(REGISTRY_LICENCE)


DEMO_CHAINS = ("biomedicine", "electronics")


RegistryOption = Annotated[str | None, typer.Option(
    "--registry", help="Enterprise-registry provinces to load: 河北, 河北省,山西 or all "
    "(CC BY-NC-SA 4.0 data; see stats).")]


def run_build(db_path: Path | None, mirror: Path | None,
              chains_dir: Path | None = None, registry: str | None = None) -> dict[str, int]:
    """Fetch (or read the mirror) and build the store with progress bars; return counts.

    ``chains_dir`` is remembered in the store (setting ``chains_dir``): later builds,
    imports and corrections keep using the user's chain templates. ``registry`` names the
    provinces of the enterprise registry to load with the open data.
    """
    from chainatlas.build import STEPS, build_store
    from chainatlas.sources import fetch
    from chainatlas.sources.registry_files import province_list, resolve_registry

    provinces = province_list(registry)
    with progress_bar(len(STEPS) + 1) as (bar, task):
        bar.update(task, description="open data")
        bundle = fetch.resolve_bundle(mirror)
        scan = resolve_registry(provinces, mirror) if provinces else None
        bar.update(task, advance=1)
        with open_store(db_path, create=True) as db:
            if chains_dir is not None:
                if not chains_dir.is_dir():
                    raise NotFoundError(f"No chain template folder {chains_dir}.")
                db.set_setting("chains_dir", str(chains_dir.resolve()))
            report = build_store(db, bundle, lambda label: bar.update(
                task, advance=1 if label in STEPS else 0, description=label),
                registry=scan)
            bar.update(task, description="built", completed=len(STEPS) + 1)
    return report.counts


@app.command()
def build(db: DbOption = None, mirror: MirrorOption = None,
          chains_dir: Annotated[Path | None, typer.Option(
              "--chains-dir", help="A folder of your own chain YAML files (adds or overrides "
              "built-in chains); remembered for later builds.")] = None,
          registry: RegistryOption = None) -> None:
    """Ingest the open data, place every firm on the chains, precompute (one transaction)."""
    counts = run_build(db, mirror, chains_dir, registry)
    table = Table("table", "rows")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


@app.command()
def stats(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show counts per table, located share, ingest rejects and provenance."""
    from chainatlas.store.stats import stats_from_db

    with open_store(db, read_only=True) as store:
        result = stats_from_db(store)
    if as_json:
        print_json(result)
        return
    firms = result["firms"]
    console.print(f"[bold]Listed firms[/]: {firms['listed']:,}, located to a city: "
                  f"{firms['listed_located_city']:,} ({firms['listed_located_city_share']:.1%});"
                  f" roster firms: {firms['roster']:,}")
    if result["registry"]:
        reg = result["registry"]
        console.print(f"[bold]Registry firms[/]: {reg['firms']:,} from {reg['files']} files, "
                      f"located to a city {reg['located_city']:,}, to a district "
                      f"{reg['located_district']:,}; branches {reg['branches']:,} "
                      f"({reg['branches_linked']:,} linked to their parent), individual "
                      f"businesses {reg['individual_businesses']:,}, capital in another "
                      f"currency {reg['foreign_currency_capital']:,}, capital missing "
                      f"{reg['capital_missing']:,}")
        console.print(reg["licence"])
    tables = Table("table", "rows", title="Tables")
    for name, rows in result["tables"].items():
        tables.add_row(name, f"{rows:,}")
    console.print(tables)
    sources = Table("file", "read", "stored", "rejected", "merged", "sha256", title="Sources")
    for s in result["sources"]:
        sources.add_row(s["file"], f"{s['rows_read']:,}", f"{s['rows_stored']:,}",
                        str(s["rejected"]), str(s["merged"]), s["sha256"][:12])
    console.print(sources)
    issues = Table("file", "kind", "action", "rows", "example", title="Ingest issues")
    for i in result["issues"]:
        issues.add_row(i["file"], i["kind"], i["action"], str(i["rows"]),
                       str(i["example"])[:70])
    console.print(issues)


def _parse_map(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise typer.BadParameter("use HEADER=field pairs, e.g. '单位全称=name,地址=address'")
    return {k.strip(): v.strip() for k, v in pairs}


@import_app.command("roster")
def import_roster_command(
    file: Annotated[Path, typer.Argument(help="Roster file (.xlsx or .csv).")],
    db: DbOption = None,
    lenient: Annotated[bool, typer.Option(
        "--lenient", help="Import the good rows and write the bad ones to --rejects.")] = False,
    rejects: Annotated[Path | None, typer.Option(
        help="Where --lenient writes rejected rows (default FILE.rejects.xlsx).")] = None,
    mapping: Annotated[str | None, typer.Option(
        "--map", help="Extra header mapping: '单位全称=name,地址=address'. Fields: name, "
        "uscc, address, industry_code, business_scope, registered_capital, setup_date, "
        "revenue, employees.")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="CSV encoding (default: detect UTF-8, UTF-8-BOM or GBK).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Import a region's enterprise roster (企业名单); strict unless --lenient."""
    from chainatlas.build import import_and_place

    check_encoding(file, encoding)
    if rejects is not None:
        check_target(rejects)
    with progress_bar(2) as (bar, task):
        bar.update(task, description=f"importing {file.name}")
        with open_store(db) as store:
            # One transaction: the firms and their placements are stored together or not
            # at all (a kill mid-way left firms stored and placements stale).
            report, _ = import_and_place(
                store, file, mapping=_parse_map(mapping), encoding=encoding,
                lenient=lenient, rejects=rejects,
                progress=lambda label: bar.update(task, description=label))
        bar.update(task, completed=2, description="imported and classified")
    summary = {k: v for k, v in vars(report).items() if k != "problems"}
    summary["problems"] = [str(p) for p in report.problems]
    if as_json:
        print_json(summary)
        return
    console.print(f"{report.file}: {report.rows} rows; {report.inserted} new, {report.updated} "
                  f"updated ({report.changed_fields} fields), {report.unchanged} unchanged, "
                  f"{report.rejected} rejected, {report.merged} exact repeats stored once; "
                  f"{report.linked_to_listed} roster firms are listed or registry firms too "
                  "(counted once).")
    for note in report.notes:
        console.print(f"  {note}")
    if report.rejects_file:
        console.print(f"Rejected rows and reasons: {report.rejects_file}")


@export_app.command("roster")
def export_roster_command(
    file: Annotated[Path, typer.Argument(help="Target file (.xlsx or .csv).")],
    db: DbOption = None,
    region: Annotated[str | None, typer.Option(help="Only this region's firms.")] = None,
) -> None:
    """Export the imported roster firms as a roster file (same headers as import)."""
    from chainatlas.sources.roster_import import export_roster
    from chainatlas.store.lookup import region_from_text

    check_target(file)
    with open_store(db, read_only=True) as store:
        adcode = region_from_text(store, region).adcode if region else None
        count = export_roster(store, file, adcode)
    console.print(f"Wrote {count} firms to {file}.")


@export_app.command("placements")
def export_placements_command(
    file: Annotated[Path, typer.Argument(help="Target file (.csv or .xlsx).")],
    chain: Annotated[str | None, typer.Option(
        help="Only this chain (id or Chinese name).")] = None,
    region: Annotated[str | None, typer.Option(
        help="Only firms in this region (name or adcode).")] = None,
    universe: Annotated[str | None, typer.Option(
        help="Firms to export: listed, registry or all (default: all once registry firms "
        "are loaded, else listed).")] = None,
    db: DbOption = None,
) -> None:
    """Export every placed firm, one row per (firm, node): ids, names, origin, region,
    chain, node, top-level node, confidence, method and evidence (CSV or Excel)."""
    from chainatlas.analysis.placement_table import write_placements

    check_target(file)
    with open_store(db, read_only=True) as store, progress_bar() as (bar, task):
        bar.update(task, description=f"writing {file.name}")
        export = write_placements(store, file, chain, region, universe, progress=lambda
                                  done, total: bar.update(task, completed=done, total=total))
        bar.update(task, completed=export.rows, total=export.rows,
                   description=f"wrote {file.name}")
    scope = export.scope.describe_zh()
    console.print(f"Wrote {export.rows:,} placements to {file} (universe {scope['企业范围']}, "
                  f"chain {scope['产业链']}, region {scope['地区']}).", highlight=False)
    if export.licence:
        console.print(export.licence, highlight=False)


@app.command()
def demo(db: DbOption = None, mirror: MirrorOption = None,
         region: Annotated[str, typer.Option(help="Region to summarise.")] = "石家庄市",
         registry: Annotated[str, typer.Option(
             "--registry", help="Registry provinces to load ('' for none).")] = "河北",
         top: Annotated[int, typer.Option(help="Recommendations per chain.")] = 10) -> None:
    """Fetch, build, then show a region's (default 石家庄市) panoramas and recommendations."""
    from chainatlas.analysis.regional import region_profile
    from chainatlas.analysis.regions import firms_by_industry
    from chainatlas.cli_region import (
        print_firm_ranking,
        print_node_ranking,
        print_region_profile,
    )
    from chainatlas.recommend.firms import rank_firms
    from chainatlas.recommend.nodes import rank_nodes
    from chainatlas.store.lookup import chain_from_text, region_from_text

    run_build(db, mirror, registry=registry or None)
    with open_store(db, read_only=True) as store:
        place = region_from_text(store, region)
        frame = firms_by_industry(store, place)
        table = Table("申万一级行业", "上市企业数", "企业",
                      title=f"{place.name} 上市企业（按申万行业）")
        for row in frame.itertuples():
            table.add_row(str(row.industry), str(row.firms), str(row.names))
        console.print(table)
        for chain_id in DEMO_CHAINS:
            chain = chain_from_text(store, chain_id)
            print_region_profile(region_profile(store, place, chain))
            print_node_ranking(rank_nodes(store, place, chain, top=top), place.name)
            print_firm_ranking(rank_firms(store, place, chain, top=top), place.name)
    console.print(f"{place.name}: {int(frame['firms'].sum())} listed firms "
                  f"in {len(frame)} Shenwan industries.")


def main() -> None:
    """Entry point: run the CLI; library errors are one clean message and an exit code
    (rendered by :class:`~chainatlas.cli_common.CleanErrorsGroup`, and here for any raised
    outside a command)."""
    try:
        app()
    except ChainAtlasError as exc:
        raise SystemExit(report_error(exc) or 1) from None
