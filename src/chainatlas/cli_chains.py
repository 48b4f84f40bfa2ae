"""Chain commands: ``chains`` (templates, corrections, audit) and ``chain show`` (panorama)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.tree import Tree

from chainatlas.cli_common import (
    DbOption,
    JsonOption,
    UniverseOption,
    console,
    open_store,
    print_json,
    universe_of,
    universe_title,
)

chains_app = typer.Typer(help="Chain templates: list, show, validate, audit, corrections.",
                         no_args_is_help=True)
chain_app = typer.Typer(help="The chain panorama (产业链全景) for a region.",
                        no_args_is_help=True)

ChainsDir = Annotated[list[Path] | None, typer.Option(
    "--chains-dir", help="A folder of your own chain YAML files (adds or overrides chains); "
    "repeatable. The store setting 'chains_dir' is used too.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (stored with who and when).")]


def _templates(chains_dir: list[Path] | None, db: Path | None) -> dict[str, Any]:
    from chainatlas.chains.templates import load_templates

    dirs = list(chains_dir or [])
    if db is not None and db.exists():
        from chainatlas.build import chain_dirs

        with open_store(db, read_only=True) as opened:
            dirs = chain_dirs(opened, dirs)
    return load_templates(dirs)


@chains_app.command("list")
def chains_list(chains_dir: ChainsDir = None, db: DbOption = None,
                as_json: JsonOption = False) -> None:
    """List the chain templates (built-in and your own)."""
    templates = _templates(chains_dir, db)
    rows = [{"id": t.id, "name_zh": t.name_zh, "name_en": t.name_en, "nodes": len(t.nodes),
             "leaves": len(t.leaves()), "edges": len(t.edges), "path": t.path}
            for t in templates.values()]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "产业链", "nodes", "leaves", "edges")
    for r in rows:
        table.add_row(*(str(r[k]) for k in ("id", "name_zh", "nodes", "leaves", "edges")))
    console.print(table)


@chains_app.command("show")
def chains_show(chain: Annotated[str, typer.Argument(
                    help="Chain id or Chinese name, e.g. biomedicine or 生物医药.")],
                chains_dir: ChainsDir = None, db: DbOption = None,
                as_json: JsonOption = False) -> None:
    """Show a template: its node tree with stages, keywords and codes, and its edges."""
    from chainatlas.chains.templates import template_to_dict

    templates = _templates(chains_dir, db)
    match = next((t for t in templates.values() if chain in {t.id, t.name_zh}), None)
    if match is None:
        from chainatlas.errors import NotFoundError

        raise NotFoundError(f"No chain {chain!r}; known: {', '.join(templates)}.")
    if as_json:
        print_json(template_to_dict(match))
        return
    tree = Tree(f"[bold]{match.name_zh}[/] ({match.id})")
    branches: dict[str | None, Tree] = {None: tree}
    for node in match.nodes:
        label = f"{node.name_zh} [dim]{node.id} · {node.stage}[/]"
        if node.keywords:
            label += f"\n[dim]{'、'.join(node.keywords[:8])}[/]"
        branches[node.id] = branches[node.parent].add(label)
    console.print(tree)
    console.print(f"{len(match.edges)} supply edges.")


@chains_app.command("validate")
def chains_validate(chains_dir: ChainsDir = None, db: DbOption = None) -> None:
    """Validate every template (and, with a built store, that its industry codes exist)."""
    from chainatlas.analysis.overview import industry_codes
    from chainatlas.chains.templates import validate_codes
    from chainatlas.errors import InputError

    templates = _templates(chains_dir, db)
    problems = []
    if db is not None and db.exists():
        with open_store(db, read_only=True) as store:
            sw, gbt = industry_codes(store, "sw2021"), industry_codes(store, "gbt2017")
        for t in templates.values():
            problems += validate_codes(t, sw, gbt)
    if problems:
        raise InputError(problems)
    console.print(f"{len(templates)} chain templates are valid: {', '.join(templates)}.")


def _correct(action: str, firm: str, target: str, reason: str,
             db: Path | None, as_json: bool) -> None:
    """Record a correction of ``firm`` on ``target`` (CHAIN/NODE, ids or Chinese names)."""
    from chainatlas.build import apply_correction
    from chainatlas.store.lookup import chain_from_text

    chain_text, _, node_text = target.partition("/")
    with open_store(db) as store:
        chain = chain_from_text(store, chain_text)
        node = chain.node(node_text).node_id
        row = apply_correction(store, firm, chain, node, action, reason)
    if as_json:
        print_json(row)
    else:
        verb = "assigned to" if action == "assign" else "removed from"
        console.print(f"{row['short_name']} ({row['company_id']}) {verb} "
                      f"{chain.chain_id}/{node}: {row['reason']} — {row['author']}, "
                      f"{row['created_at']}")


@chains_app.command("assign")
def chains_assign(firm: Annotated[str, typer.Argument(help="Stock code, id, USCC or name.")],
                  node: Annotated[str, typer.Argument(
                      help="CHAIN/NODE (ids or Chinese names), e.g. biomedicine/bm_api or "
                           "生物医药/化学原料药")],
                  reason: Reason, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Place a firm on a node by hand (survives rebuilds; the classifier never overrides)."""
    _correct("assign", firm, node, reason, db, as_json)


@chains_app.command("unassign")
def chains_unassign(firm: Annotated[str, typer.Argument(help="Stock code, id, USCC or name.")],
                    node: Annotated[str, typer.Argument(
                        help="CHAIN/NODE (ids or Chinese names)")],
                    reason: Reason, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Remove a firm from a node by hand (survives rebuilds)."""
    _correct("unassign", firm, node, reason, db, as_json)


@chains_app.command("corrections")
def chains_corrections(db: DbOption = None, retired: Annotated[bool, typer.Option(
        help="Include corrections later replaced.")] = False,
        as_json: JsonOption = False) -> None:
    """List analysts' corrections."""
    from chainatlas.chains.corrections import corrections_list

    with open_store(db, read_only=True) as store:
        rows = corrections_list(store, retired)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "firm", "chain/node", "action", "reason", "who", "when", "active")
    for r in rows:
        table.add_row(str(r["correction_id"]), r["company_id"], f"{r['chain_id']}/"
                      f"{r['node_id']}", r["action"], r["reason"], r["author"],
                      str(r["created_at"])[:19], str(r["active"]))
    console.print(table)


@chains_app.command("audit")
def chains_audit(chain: Annotated[str, typer.Argument(help="Chain id or Chinese name.")],
                 db: DbOption = None, as_json: JsonOption = False) -> None:
    """Template edges without product evidence, and evidenced pairs the template lacks."""
    from chainatlas.analysis.audit import audit_chain
    from chainatlas.store.lookup import chain_from_text

    with open_store(db, read_only=True) as store:
        result = audit_chain(store, chain_from_text(store, chain))
    if as_json:
        print_json(result)
        return
    console.print(f"{result['chain_id']}: {result['edges_with_evidence']} of "
                  f"{result['edges']} template edges have product evidence.")
    table = Table("from", "to", "note", title="Template edges without evidence")
    for e in result["edges_without_evidence"]:
        table.add_row(e["source"], e["target"], str(e["note_zh"] or ""))
    console.print(table)
    missing = Table("from", "to", "relations", "firm pairs", "examples",
                    title="Evidenced pairs missing from the template")
    for e in result["missing_edges"]:
        missing.add_row(e["source"], e["target"], str(e["relations"]), str(e["firm_pairs"]),
                        str(e["examples"])[:60])
    console.print(missing)


@chain_app.command("show")
def chain_show(chain: Annotated[str, typer.Argument(help="Chain id or Chinese name.")],
               region: Annotated[str | None, typer.Option(
                   help="Region name or adcode, e.g. 石家庄市 or 130100.")] = None,
               top: Annotated[int, typer.Option(help="Top firms per node.")] = 3,
               universe: UniverseOption = None, db: DbOption = None,
               as_json: JsonOption = False) -> None:
    """The chain's node tree with firm counts nationally and in a region, and top firms."""
    from chainatlas.analysis.panorama import chain_panorama
    from chainatlas.store.lookup import chain_from_text, region_from_text

    with open_store(db, read_only=True) as store:
        place = region_from_text(store, region) if region else None
        result = chain_panorama(store, chain_from_text(store, chain), place, top,
                                universe_of(store, universe))
    if as_json:
        print_json(result)
        return
    title = (f"[bold]{result['name_zh']}[/]" + (f" · {place.name}" if place else "")
             + universe_title(result))
    tree = Tree(title + f"  [dim](全国 / 本地; 规模: {result['size_measure']})[/]")
    branches: dict[str | None, Tree] = {None: tree}
    for node in result["nodes"]:
        firms = node["local_top_firms"] if place else node["top_firms"]
        names = "、".join(str(f["short_name"]) for f in firms)
        counts = f"{node['national_firms']}" + (f" / {node['local_firms']}" if place else "")
        label = f"{node['name_zh']} [cyan]{counts}[/] [dim]{node['stage']}[/]"
        if names:
            label += f"  {names}"
        branches[node["node_id"]] = branches[node["parent"]].add(label)
    console.print(tree)
    console.print(f"[dim]{result['coverage_zh']}[/]")
