"""Placement quality on the hand-labelled sets (issue 9 goals), through the product path.

(a) Registry development set (``labels/registry_dev.csv``, firms outside 河北, labelled by
    reading per ``labels/GUIDELINE.md``): the labelled firms' rows are read from the mirror,
    loaded into an in-memory store with the chain templates and classified exactly as a
    build does. A firm is predicted on a chain when any placement of it on that chain
    reaches the placement threshold; its top-level node is the root above its strongest
    placement (ties go to the deeper node). Prints per-chain precision and recall, micro
    precision and recall over the five chains, and top-node accuracy (on chains both
    labelled and predicted), per stratum and overall, with the worst misses.
(b) Well-known listed firms (``labels/listed_expected.csv``): on the full store, is the
    firm's strongest placement in the expected chain on the expected node (or below it)?

``--labels FILE`` evaluates another labelled set of the same columns (the independent test
sample ``labels/registry_test.csv``); ``--explain`` prints, for each miss, the firm's name,
the start of its scope and the evidence of its placements (registry text goes to the
terminal only, never into a file of the repository).

Usage: python benchmarks/eval_registry.py [--mirror DIR] [--db FILE] [--worst N]
       [--labels FILE] [--explain]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_store_args, open_store

from chainatlas.build import refresh_derived
from chainatlas.chains.classify import classify_store, gbt_classes
from chainatlas.chains.evidence import evidence_from_json, evidence_zh
from chainatlas.chains.templates import load_templates
from chainatlas.sources.registry import RegistryRows, dedupe, parse_registry_text
from chainatlas.sources.registry_files import (
    PROVINCES,
    registry_files,
    scan_mirror,
)
from chainatlas.sources.registry_ingest import store_firms
from chainatlas.store import Database
from chainatlas.store.lookup import NodeTree, chain_from_text

LABELS = Path(__file__).resolve().parent / "labels"
CHAINS = ("biomedicine", "electronics", "advanced_equipment", "modern_food",
          "commerce_logistics")


def read_labels(path: Path) -> dict[str, dict[str, Any]]:
    """USCC -> stratum and {chain: top node}; 'unclear' rows left out."""
    out = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["chains"] == "unclear":
                continue
            chains = [] if row["chains"] == "none" else row["chains"].split(";")
            nodes = row["top_nodes"].split(";") if chains else []
            out[row["uscc"]] = {"stratum": row["stratum"],
                                "truth": dict(zip(chains, nodes, strict=True))}
    return out


def registry_rows(mirror: Path, wanted: set[str]) -> list[dict[str, Any]]:
    """The labelled firms' normalised rows, read from the mirror."""
    scan = scan_mirror(mirror, registry_files([p for p in PROVINCES if p != "河北"]))
    out = RegistryRows()
    for found in scan.found:
        data, _ = found.read()
        text = data.decode("utf-8")
        lines = text.splitlines(keepends=True)
        keep = [lines[0]] + [ln for ln in lines[1:] if ln.split(",", 2)[1:2] and
                             ln.split(",", 2)[1] in wanted]
        parse_registry_text("".join(keep), found.spec.path, out)
    return dedupe([r for r in out.rows if r["uscc"] in wanted], {})


def chain_trees(db: Database) -> dict[str, NodeTree]:
    """chain_id -> its node tree (the store's chains, by the one tree walk)."""
    return {str(c): chain_from_text(db, str(c)).tree
            for (c,) in db.execute("SELECT chain_id FROM chains").fetchall()}


def predictions(db: Database) -> dict[str, dict[str, str]]:
    """company_id -> {chain: top node above its strongest placement}."""
    trees = chain_trees(db)
    best: dict[tuple[str, str], tuple[float, int, str]] = {}
    for cid, chain, node, conf in db.execute(
            "SELECT company_id, chain_id, node_id, confidence FROM firm_nodes").fetchall():
        depth = len(trees[chain].ancestors(node))
        key = (cid, chain)
        if key not in best or (conf, depth) > best[key][:2]:
            best[key] = (float(conf), depth, node)
    out: dict[str, dict[str, str]] = {}
    for (cid, chain), (_, _, node) in best.items():
        out.setdefault(cid, {})[chain] = trees[chain].root(node)
    return out


def score(labels: dict[str, dict[str, Any]], pred: dict[str, dict[str, str]],
          ids: dict[str, str], stratum: str | None) -> dict[str, Any]:
    """Per-chain and micro precision/recall and top-node accuracy."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    top_ok = top_n = 0
    for uscc, lab in labels.items():
        if (stratum and lab["stratum"] != stratum) or uscc not in ids:
            continue
        truth, got = lab["truth"], pred.get(ids[uscc], {})
        for chain in CHAINS:
            if chain in truth and chain in got:
                tp[chain] += 1
                top_n += 1
                top_ok += truth[chain] == got[chain]
            elif chain in got:
                fp[chain] += 1
            elif chain in truth:
                fn[chain] += 1
    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")
    per = {c: (ratio(tp[c], tp[c] + fp[c]), ratio(tp[c], tp[c] + fn[c]), tp[c] + fn[c])
           for c in CHAINS}
    t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {"per_chain": per, "micro": (ratio(t, t + f), ratio(t, t + n)),
            "top_node": (ratio(top_ok, top_n), top_n)}


def print_score(title: str, result: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(f"  {'chain':20} {'precision':>9} {'recall':>7} {'labelled':>8}")
    for chain, (p, r, n) in result["per_chain"].items():
        print(f"  {chain:20} {p:9.3f} {r:7.3f} {n:8d}")
    p, r = result["micro"]
    acc, n = result["top_node"]
    print(f"  micro precision {p:.3f}, recall {r:.3f}; top-level node accuracy {acc:.3f} "
          f"(on {n} chain hits)")


def worst(labels: dict[str, dict[str, Any]], pred: dict[str, dict[str, str]],
          ids: dict[str, str], db: Database, top: int, explain: bool) -> None:
    print(f"\nworst misses (up to {top}; USCC, labelled -> predicted):")
    shown = 0
    for uscc, lab in labels.items():
        got = pred.get(ids.get(uscc, ""), {})
        if got != lab["truth"] and shown < top:
            print(f"  {uscc} [{lab['stratum']}] {lab['truth'] or 'none'} -> {got or 'none'}")
            if explain and uscc in ids:
                explain_firm(db, ids[uscc])
            shown += 1


def explain_firm(db: Database, cid: str) -> None:
    """Name, scope start and placement evidence of one firm (terminal only)."""
    name, scope = db.execute("SELECT full_name, business_scope FROM companies "
                             "WHERE company_id = ?", [cid]).fetchone() or ("", "")
    print(f"      {name} | {(scope or '')[:110]}")
    for node, conf, method, evidence in db.execute(
            "SELECT node_id, confidence, method, evidence FROM firm_nodes "
            "WHERE company_id = ? ORDER BY confidence DESC", [cid]).fetchall():
        print(f"      -> {node} {conf:.2f} {method} {evidence_zh(evidence_from_json(evidence))}")


def evaluate_registry(mirror: Path, top: int, path: Path, explain: bool,
                      classes: list[tuple[str, str, str | None]]) -> None:
    labels = read_labels(path)
    start = time.perf_counter()
    rows = registry_rows(mirror, set(labels))
    db = Database()
    # The GB/T classes and notes a build stores, for the class-term signal.
    db.executemany("INSERT INTO industries VALUES ('gbt2017', ?, ?, 4, NULL, ?, 1)", classes)
    for row in rows:
        row["source_id"] = 1
    store_firms(db, rows, dt.datetime(2026, 1, 1))
    classify_store(db, load_templates())
    refresh_derived(db)
    ids = {str(r["uscc"]): str(r["company_id"]) for r in rows}
    pred = predictions(db)
    print(f"registry set {path.name}: {len(labels)} labelled firms, {len(ids)} found in the "
          f"mirror ({time.perf_counter() - start:.1f} s)")
    for stratum in ("random", "theme", None):
        print_score(f"stratum {stratum or 'all'}", score(labels, pred, ids, stratum))
    worst(labels, pred, ids, db, top, explain)


def evaluate_listed(db: Database) -> None:
    with (LABELS / "listed_expected.csv").open(encoding="utf-8") as handle:
        expected = list(csv.DictReader(handle))
    trees = chain_trees(db)
    hits = 0
    misses = []
    for row in expected:
        rows = db.execute(
            "SELECT f.node_id, f.confidence FROM firm_nodes f JOIN companies c "
            "USING (company_id) WHERE c.stock_code = ? AND f.chain_id = ?",
            [row["stock_code"], row["chain_id"]]).fetchall()
        tree = trees[row["chain_id"]]
        # The strongest placement; ties go to the deeper node (issue 9 point 4).
        nodes = [n for n, _ in sorted(rows, key=lambda r: (-r[1], -len(tree.ancestors(r[0]))))]
        ok = bool(nodes) and (nodes[0] == row["expected_node"]
                              or row["expected_node"] in tree.ancestors(nodes[0]))
        hits += ok
        if not ok:
            misses.append(f"  {row['short_name']} expected {row['expected_node']}, strongest "
                          f"{nodes[0] if nodes else 'not on the chain'}")
    print(f"\nlisted firms: strongest placement on the expected node for {hits} of "
          f"{len(expected)} ({hits / len(expected):.1%}; goal >= 90%)")
    print("\n".join(misses[:20]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_store_args(parser)
    parser.add_argument("--worst", type=int, default=15)
    parser.add_argument("--labels", type=Path, default=LABELS / "registry_dev.csv")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--skip-listed", action="store_true")
    args = parser.parse_args()
    if not args.mirror:
        sys.exit("set --mirror or CHAINATLAS_MIRROR")
    with open_store(args.db, args.mirror, args.rebuild) as db:
        evaluate_registry(Path(args.mirror), args.worst, args.labels, args.explain,
                          gbt_classes(db))
        if not args.skip_listed:
            evaluate_listed(db)


if __name__ == "__main__":
    main()
