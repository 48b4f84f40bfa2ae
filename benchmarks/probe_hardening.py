"""Rerun every probe of issue 10 (points 1–9) against the real CLI and server; verdicts.

Each probe runs ``chainatlas`` in a child process (a store copy of the listed-firm store
at ``--db``, built once from the open-data mirror when missing) and prints one result:
the exit status, seconds and peak memory of the child (under an 8 GB cap), whether a
traceback was printed, whether the store's bytes changed, the issue's figure from before
the fix, the right answer and what the probe measured now, and OK or BAD. A final table
lists the verdicts per point and counts them. The probes needing ``chainatlas serve``
are in ``_probe_server.py``. The whole run is bounded (about 10 minutes).

    python benchmarks/probe_hardening.py [--db /tmp/probe.duckdb] [--only NAME]
        [--kill-window 24]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import add_store_args, open_store
from _probe_server import (
    EXE,
    HEADER,
    ROW,
    Context,
    Result,
    Run,
    correction_targets,
    damaged_store,
    load_probes,
    serve_damaged,
    served_probes,
    short,
    wildcard_refused,
    wildcard_warns,
    write_csv,
)

Probe = Callable[[Context], "Result | list[Result]"]


def sha(path: Path) -> str:
    """The file's sha256 ("absent" for no file)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def import_file(ctx: Context, file: Path, *extra: str) -> tuple[Run, bool]:
    """Import ``file`` into a fresh store copy; (the run, whether the store changed)."""
    store = ctx.copy_store()
    before = sha(store)
    run = ctx.cli(["import", "roster", str(file), "--db", str(store), *extra])
    return run, sha(store) != before


def refused(run: Run, changed: bool, names: str = "") -> bool:
    """A clean refusal: non-zero exit, no traceback, the store untouched, and the message
    names ``names`` (a field) when given."""
    return run.status > 0 and not run.traceback and not changed and names in run.output


def refusal(point: int, name: str, was: str, run: Run, changed: bool,
            field: str = "") -> Result:
    """The result of a probe whose right answer is a clean refusal."""
    want = "refused: exit≠0, a message" + (f" naming {field}" if field else "") + \
        ", no traceback, store unchanged"
    return Result(point, name, was, want, run.first_line, refused(run, changed, field),
                  run, changed)


# -- workbooks (points 3 and 9) ---------------------------------------------------------


def far_cell_xlsx(path: Path, cell: str) -> Path:
    """A tiny workbook whose one stray cell sits at ``cell`` (XFD1048576: the last one)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(ROW)
    ws[cell] = "x"
    wb.save(path)
    return path


def bounded(point: int, name: str, was: str, run: Run, changed: bool) -> Result:
    """A workbook read within bounds: ≤ 20 s, ≤ 1 GiB, no traceback; a refusal leaves
    the store as it was."""
    ok = run.seconds <= 20 and run.peak_mb <= 1024 and not run.traceback \
        and (run.status == 0 or not changed) and run.status >= 0
    return Result(point, name, was, "≤ 20 s and ≤ 1 GiB, no traceback (refusal: store "
                  "unchanged)", f"exit {run.status} in {run.seconds:.1f} s, "
                  f"{run.peak_mb:.0f} MB: {run.first_line}", ok, run, changed)


def xlsx_xfd(ctx: Context) -> Result:
    run, changed = import_file(ctx, far_cell_xlsx(ctx.work / "xfd.xlsx", "XFD1048576"))
    return bounded(3, "xlsx_cell_XFD1048576", "8.5 GB of memory in 96 s", run, changed)


def xlsx_a_last(ctx: Context) -> Result:
    run, changed = import_file(ctx, far_cell_xlsx(ctx.work / "alast.xlsx", "A1048576"))
    return bounded(3, "xlsx_cell_A1048576", "31.6 s and 2.6 GB", run, changed)


def sheets_xlsx(path: Path) -> Path:
    """A roster on its first sheet, a hidden sheet and an extra visible one."""
    from openpyxl import Workbook

    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "名单"
    for title, state in (("隐藏名单", "hidden"), ("另一名单", "visible")):
        ws = wb.create_sheet(title)
        ws.sheet_state = state
        ws.append(HEADER)
        ws.append([f"{title}有限公司", *ROW[1:]])
    first.append(HEADER)
    first.append(ROW)
    wb.save(path)
    return path


def hidden_sheets(ctx: Context) -> Result:
    run, changed = import_file(ctx, sheets_xlsx(ctx.work / "sheets.xlsx"))
    said = "隐藏名单" in run.output and "另一名单" in run.output
    lines = [ln for ln in run.output.splitlines() if "隐藏名单" in ln or "另一名单" in ln]
    return Result(9, "hidden_extra_sheets", "read or ignored without a word",
                  "the hidden and the extra sheet named in the output",
                  f"exit {run.status}: {short(' | '.join(lines), 120) or run.first_line}",
                  said and not run.traceback, run, changed)


def encrypted_xlsx(path: Path) -> Path:
    """What Excel writes for a password-protected workbook: an OLE compound file (CFB v3)
    with an ``EncryptionInfo`` and an ``EncryptedPackage`` stream (4 KiB each)."""
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                         bytes(16), 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0,
                         4096, end, 0, end, 0)
    header += struct.pack("<109I", 0, *[free] * 108)  # the FAT is sector 0
    chains = [0xFFFFFFFD, end] + [n + 1 for n in range(2, 9)] + [end] \
        + [n + 1 for n in range(10, 17)] + [end]
    fat = struct.pack("<128I", *chains, *[free] * (128 - len(chains)))
    entries = [_dir_entry("Root Entry", 5, child=1, start=end, size=0),
               _dir_entry("EncryptionInfo", 2, right=2, start=2, size=4096),
               _dir_entry("EncryptedPackage", 2, start=10, size=4096),
               _dir_entry("", 0, start=0, size=0)]
    streams = bytes(range(256)) * 32  # 8 KiB of "ciphertext": both streams
    path.write_bytes(header + fat + b"".join(entries) + streams)
    return path


def _dir_entry(name: str, kind: int, *, start: int, size: int, child: int = 0xFFFFFFFF,
               right: int = 0xFFFFFFFF) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, 0xFFFFFFFF,
                       right, child, bytes(16), 0, 0, 0, start, size)


def password_xlsx(ctx: Context) -> Result:
    run, changed = import_file(ctx, encrypted_xlsx(ctx.work / "locked.xlsx"))
    text = run.output.lower()
    named = ("password" in text or "加密" in text) and "legacy" not in text
    return Result(9, "password_xlsx", "called a legacy .xls",
                  "refused as password-protected (not 'legacy .xls')", run.first_line,
                  named and refused(run, changed), run, changed)


# -- rows (points 4 and 5) --------------------------------------------------------------


def same_name_rows(count: int) -> list[list[str]]:
    """``count`` rows of one firm name, no USCC, each with its own capital."""
    return [[ROW[0], "", ROW[2], ROW[3], f"{100 + i}万元", ROW[5], str(10 + i % 900)]
            for i in range(count)]


def same_name_10(ctx: Context) -> Result:
    run, changed = import_file(ctx, write_csv(ctx.work / "same10.csv", same_name_rows(10)))
    return refusal(4, "same_name_10", "10 rows: 9 inserted, 0 rejected", run, changed,
                   "企业名称")


def same_name_50010_strict(ctx: Context) -> Result:
    file = write_csv(ctx.work / "same50010.csv", same_name_rows(50_010))
    run, changed = import_file(ctx, file)
    result = refusal(4, "same_name_50010_strict", "11 inserted, 0 rejected", run, changed,
                     "企业名称")
    result.want += "; ≥ 50,009 bad rows counted"
    result.ok = result.ok and _bad_rows(run) >= 50_009
    return result


def _bad_rows(run: Run) -> int:
    """The count of an "N bad row(s)" message (0 without one)."""
    for word, nxt in zip(run.output.split(), run.output.split()[1:], strict=False):
        if nxt == "bad" and word.replace(",", "").isdigit():
            return int(word.replace(",", ""))
    return 0


def same_name_50010_lenient(ctx: Context) -> Result:
    file = ctx.work / "same50010.csv"
    if not file.exists():
        write_csv(file, same_name_rows(50_010))
    run, changed = import_file(ctx, file, "--lenient", "--rejects",
                               str(ctx.work / "same.rejects.csv"), "--json")
    report = run.json() or {}
    seen = int(report.get("inserted", 0)) + int(report.get("rejected", 0))
    return Result(4, "same_name_50010_lenient", "11 inserted, 0 rejected",
                  "inserted + rejected = 50,010 (no silent merge)",
                  f"exit {run.status}: inserted {report.get('inserted')}, rejected "
                  f"{report.get('rejected')}", run.status == 0 and seen == 50_010, run,
                  changed)


def cut_mid_row(ctx: Context) -> Result:
    # the last row ends "...,200万元,2001-05-01,2762": cut after "27"
    rows = [["石家庄甲公司", "", ROW[2], ROW[3], "100万元", ROW[5], "10"],
            ["石家庄乙公司", "", ROW[2], ROW[3], "200万元", ROW[5], "2762"]]
    run, changed = import_file(ctx, write_csv(ctx.work / "cut.csv", rows, cut=4))
    return refusal(4, "cut_mid_row", "the cut value imported (2762 → 27)", run, changed,
                   "从业人数")


def missing_cells(ctx: Context) -> Result:
    file = ctx.work / "short.csv"
    file.write_text(",".join(HEADER) + "\n石家庄丙公司,,石家庄市,药品生产\n", "utf-8")
    run, changed = import_file(ctx, file)
    return refusal(4, "missing_trailing_cells", "row with missing trailing cells accepted",
                   run, changed)


#: (probe, issue's figure, field header, column index, value) of point 5.
BAD_VALUES = [("employees_2pow31", "DuckDB ConversionException traceback", "从业人数", 6,
               str(2**31)),
              ("capital_1E9999999", "decimal.Overflow traceback", "注册资本", 4, "1E9999999"),
              ("capital_1E309", "stored as inf; the firm became a leader", "注册资本", 4,
               "1E309"),
              ("capital_(500)", "stored as +500", "注册资本", 4, "(500)"),
              ("date_25h", "'2020-01-01 25:00' accepted", "成立日期", 5, "2020-01-01 25:00")]


def _bad_row(column: int, value: str, name: str = "石家庄丁公司") -> list[str]:
    row = [name, *ROW[1:]]
    row[column] = value
    return row


def bad_value_probes(ctx: Context) -> list[Result]:
    """Each hostile value alone, strict: a clean refusal naming the field."""
    results = []
    for name, was, field, column, value in BAD_VALUES:
        file = write_csv(ctx.work / f"{name}.csv", [_bad_row(column, value)])
        run, changed = import_file(ctx, file)
        results.append(refusal(5, name, was, run, changed, field))
    return results


def bad_values_lenient(ctx: Context) -> Result:
    """All hostile values and one good row, --lenient: the good row in, the rest out."""
    rows = [ROW] + [_bad_row(column, value, f"石家庄坏值{i}公司")
                    for i, (_, _, _, column, value) in enumerate(BAD_VALUES)]
    rejects = ctx.work / "values.rejects.csv"
    run, changed = import_file(ctx, write_csv(ctx.work / "values.csv", rows), "--lenient",
                               "--rejects", str(rejects), "--json")
    report = run.json() or {}
    listed = _csv_rows(rejects)
    ok = run.status == 0 and report.get("inserted") == 1 \
        and report.get("rejected") == len(BAD_VALUES) and len(listed) == len(BAD_VALUES)
    return Result(5, "bad_values_lenient", "lenient aborted the whole file (traceback)",
                  f"exit 0: 1 inserted, {len(BAD_VALUES)} rejected and in the rejects file",
                  f"exit {run.status}: inserted {report.get('inserted')}, rejected "
                  f"{report.get('rejected')}, rejects file rows {len(listed)}"
                  + ("" if report else f"; {run.first_line}"), ok and not run.traceback,
                  run, changed)


def _csv_rows(path: Path) -> list[list[str]]:
    """The data rows of a CSV file (no header; none for a missing file)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))[1:]


# -- kill -9 during a 200k-row import (point 6) -----------------------------------------

KILL_ROWS = 200_000
SCOPES = ["片剂、胶囊剂的生产", "集成电路设计与销售", "医疗器械的研发", "锂离子电池制造",
          "软件开发；信息技术咨询", "汽车零部件加工", "化学原料药生产", "餐饮服务"]
CITIES = ["河北省石家庄市长安区", "河北省保定市竞秀区", "河北省唐山市路北区",
          "河北省邯郸市丛台区"]


def big_roster(path: Path) -> Path:
    """A 200,000-row roster of distinct invented firms (scopes that place and some not)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        out.writerows([f"探针{i:06d}号测试有限公司", "", CITIES[i % 4], SCOPES[i % 8],
                       f"{100 + i % 900}万元", "2010-01-01", str(10 + i % 500)]
                      for i in range(KILL_ROWS))
    return path


def store_state(ctx: Context, store: Path, placements_before: int) -> str:
    """before (as copied), after (all firms and their placements) or STALE/UNREADABLE."""
    from chainatlas.store import Database

    run = ctx.cli(["stats", "--json", "--db", str(store)])
    stats = run.json()
    if run.status or not stats:
        return f"UNREADABLE ({run.first_line[:60]})"
    roster, placements = stats["firms"]["roster"], stats["tables"]["placements"]
    if roster == 0 and placements == placements_before:
        return "before"
    with Database(store, read_only=True) as db:
        placed = int(db.scalar("SELECT count(DISTINCT p.company_id) FROM placements p JOIN "
                               "companies c USING (company_id) WHERE c.origin = 'roster'"))
    return "after" if roster == KILL_ROWS and placed > 0 else \
        f"STALE ({roster} firms, {placed} placed)"


def killed_imports(ctx: Context, window: float) -> Result:
    """8 imports of a 200k-row roster, each SIGKILLed at its own moment within ``window``
    seconds: every store must be as before or fully after."""
    from chainatlas.store import Database

    roster = big_roster(ctx.work / "roster200k.csv")
    with Database(ctx.base, read_only=True) as db:
        placements_before = int(db.scalar("SELECT count(*) FROM placements"))
    states = []
    for moment in (2 + k * (window - 2) / 7 for k in range(8)):
        store = ctx.copy_store("killed.duckdb")
        child = subprocess.Popen([EXE, "import", "roster", str(roster), "--db", str(store)],
                                 env=ctx.env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            child.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        states.append(f"{moment:.0f}s:{store_state(ctx, store, placements_before)}")
    bad = [s for s in states if "STALE" in s or "UNREADABLE" in s]
    return Result(6, "kill9_200k_import", "4 of 8 left firms stored, placements stale",
                  "0 of 8 stale (each store before or after)",
                  f"{len(bad)} of 8 stale: {' '.join(s.split(' (')[0] for s in states)}",
                  not bad)


# -- formula-safe CSV (point 7) ---------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","点击")', "+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0"]


def formula_csv(ctx: Context) -> Result:
    """Formula names imported (--lenient, one row bad) then ``export roster`` to CSV: no
    cell of the export or the rejects may start with = + - @ unescaped."""
    rows = [[name, "", ROW[2], ROW[3], "100万元", ROW[5], "10"] for name in FORMULAS]
    rows.append(['=HYPERLINK("http://evil.example/r","坏")', "", ROW[2], ROW[3], "100万元",
                 ROW[5], "abc"])  # bad employees: a rejected row
    store = ctx.copy_store()
    rejects, export = ctx.work / "formula.rejects.csv", ctx.work / "roster.out.csv"
    imported = ctx.cli(["import", "roster", str(write_csv(ctx.work / "formula.csv", rows)),
                        "--lenient", "--rejects", str(rejects), "--db", str(store)])
    exported = ctx.cli(["export", "roster", str(export), "--db", str(store)])
    cells = [c for path in (rejects, export) for r in _csv_rows(path) for c in r]
    unsafe = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    escaped = [c for c in cells if c[:1] == "'" and c[1:2] in ("=", "+", "-", "@")]
    ok = imported.status == 0 and exported.status == 0 and not unsafe and len(escaped) >= 5
    return Result(7, "formula_csv_export", "=HYPERLINK(…), +cmd|…, @SUM(…) written verbatim",
                  "0 cells starting = + - @; the 5 formula names escaped",
                  f"import exit {imported.status}, export exit {exported.status}; "
                  f"{len(cells)} cells, {len(unsafe)} unsafe {unsafe[:2]}, {len(escaped)} "
                  "escaped", ok, exported)


# -- clean messages (point 8) -----------------------------------------------------------

READS = {"stats": ["stats"], "region": ["region", "石家庄", "--chain", "biomedicine"],
         "recommend": ["recommend", "nodes", "--region", "石家庄", "--chain", "biomedicine"]}


def damaged_reads(ctx: Context) -> list[Result]:
    """stats, region and recommend on a truncated and on a bit-flipped store: a clean
    message (a truncated store must be refused; a flipped one may answer when the damage
    lies where the command does not read)."""
    results = []
    for kind in ("truncated", "flipped"):
        store = damaged_store(ctx, kind)
        for name, args in READS.items():
            run = ctx.cli([*args, "--db", str(store)])
            clean = not run.traceback and ((run.status > 0 and "rror" in run.output)
                                           or (run.status == 0 and kind == "flipped"))
            results.append(Result(8, f"{name}_{kind}_store", "traceback",
                                  "a clean message, exit≠0" + (
                                      " (or a normal answer)" if kind == "flipped" else ""),
                                  f"exit {run.status}: {run.first_line}", clean, run))
    return results


def rot13(ctx: Context) -> Result:
    run, changed = import_file(ctx, write_csv(ctx.work / "ok.csv", [ROW]), "--encoding",
                               "rot13")
    return refusal(8, "encoding_rot13", "traceback", run, changed, "rot13")


def csv_as_store(ctx: Context) -> Result:
    file = write_csv(ctx.work / "not_a_store.csv", [ROW])
    before = sha(file)
    run = ctx.cli(["region", "石家庄", "--chain", "biomedicine", "--db", str(file)])
    return refusal(8, "db_is_a_csv", "traceback", run, sha(file) != before,
                   "not_a_store.csv")


def missing_store_import(ctx: Context) -> Result:
    missing = ctx.work / "typo.duckdb"
    run = ctx.cli(["import", "roster", str(write_csv(ctx.work / "ok2.csv", [ROW])),
                   "--db", str(missing)])
    result = refusal(8, "import_into_mistyped_db", "an empty store created and imported "
                     "into", run, missing.exists(), "typo.duckdb")
    result.want += " (no file created)"
    return result


def export_missing_folder(ctx: Context) -> Result:
    store = ctx.copy_store()
    run = ctx.cli(["export", "roster", str(ctx.work / "no" / "such" / "x.csv"),
                   "--db", str(store)])
    return refusal(8, "export_missing_folder", "traceback", run, False, "no/such")


# -- evidence order and the WAL (point 9) -----------------------------------------------


def two_builds(ctx: Context) -> Result:
    """Two builds of the same mirror: ``export placements`` CSVs byte-identical."""
    digests, lines = [], []
    for k in (1, 2):
        store, out = ctx.work / f"build{k}.duckdb", ctx.work / f"placements{k}.csv"
        built = ctx.cli(["build", "--db", str(store)], timeout=240)
        exported = ctx.cli(["export", "placements", str(out), "--db", str(store)])
        if built.status or exported.status:
            return Result(9, "two_builds_evidence", "evidence ordered differently",
                          "identical exports", f"build/export failed: {built.first_line} "
                          f"{exported.first_line}", False, built)
        digests.append(sha(out))
        lines.append(out.read_text("utf-8").splitlines())
    differ = sum(a != b for a, b in zip(*lines, strict=False)) + abs(len(lines[0])
                                                                     - len(lines[1]))
    return Result(9, "two_builds_evidence", "evidence ordered differently (reasons differ)",
                  "byte-identical placement exports",
                  f"{len(lines[0]):,} lines; {differ} differ; sha256 "
                  f"{digests[0][:12]} vs {digests[1][:12]}", digests[0] == digests[1])


def wal_after_corrections(ctx: Context) -> Result:
    """20 ``chains assign`` corrections: the .wal left after each stays small."""
    store = ctx.copy_store("wal.duckdb")
    wal = Path(f"{store}.wal")
    sizes, failed = [], []
    for firm, node in correction_targets(store, 20):
        run = ctx.cli(["chains", "assign", firm, f"biomedicine/{node}", "--reason",
                       "probe: WAL", "--db", str(store)])
        if run.status:
            failed.append(run.first_line)
        sizes.append(wal.stat().st_size if wal.exists() else 0)
    return Result(9, "wal_20_corrections", "~1 MB of WAL per correction, no checkpoint",
                  "20 corrections stored; WAL ≤ 256 KiB after each",
                  f"{20 - len(failed)} stored; WAL max {max(sizes) / 1024:.0f} KiB, last "
                  f"{sizes[-1] / 1024:.0f} KiB; store {store.stat().st_size / 2**20:.1f} MiB"
                  + (f"; {failed[0]}" if failed else ""),
                  not failed and max(sizes) <= 256 * 1024)


# -- the run ----------------------------------------------------------------------------


def probes(window: float) -> dict[str, Probe]:
    """Every probe by name (for --only), in the order of the issue's points."""
    return {"wildcard_refused": wildcard_refused, "wildcard_warns": wildcard_warns,
            "served": served_probes, "load": load_probes,
            "xlsx_xfd": xlsx_xfd, "xlsx_a_last": xlsx_a_last,
            "same_name_10": same_name_10, "same_name_50010_strict": same_name_50010_strict,
            "same_name_50010_lenient": same_name_50010_lenient, "cut_mid_row": cut_mid_row,
            "missing_cells": missing_cells, "bad_values": bad_value_probes,
            "bad_values_lenient": bad_values_lenient,
            "killed_imports": lambda ctx: killed_imports(ctx, window),
            "formula_csv": formula_csv, "damaged_reads": damaged_reads,
            "serve_truncated": lambda ctx: serve_damaged(ctx, "truncated"),
            "serve_flipped": lambda ctx: serve_damaged(ctx, "flipped"),
            "rot13": rot13, "csv_as_store": csv_as_store,
            "missing_store_import": missing_store_import,
            "export_missing_folder": export_missing_folder,
            "hidden_sheets": hidden_sheets, "password_xlsx": password_xlsx,
            "two_builds": two_builds, "wal": wal_after_corrections}


def run_probe(name: str, probe: Probe, ctx: Context) -> list[Result]:
    """One probe's results; a probe that breaks is a BAD result saying how."""
    try:
        found = probe(ctx)
    except Exception as exc:  # the probe itself failed: report it, run the others
        return [Result(0, name, "-", "the probe runs", f"{type(exc).__name__}: "
                       f"{short(str(exc), 140)}", False)]
    return found if isinstance(found, list) else [found]


def show(result: Result) -> None:
    """One result: the child's figures, the verdict, then was / want / now."""
    run = result.run
    figures = (f"exit {run.status:>3} {run.seconds:6.1f} s {run.peak_mb:6.0f} MB "
               f"tb {'yes' if run.traceback else 'no '}") if run else " " * 36
    store = {None: "", True: "store CHANGED", False: "store same"}[result.changed]
    print(f"[{result.point}] {result.name:<28} {figures} {store:<13} "
          f"{'OK ' if result.ok else 'BAD'}\n      was:  {result.was}\n"
          f"      want: {result.want}\n      now:  {result.now}", flush=True)


def summary(results: list[Result], seconds: float) -> None:
    """The final table (point, probe, verdict) and the count of OK and BAD."""
    print(f"\n{'point':<6} {'probe':<28} verdict")
    for r in sorted(results, key=lambda r: r.point):
        print(f"{r.point:<6} {r.name:<28} {'OK' if r.ok else 'BAD'}")
    good = sum(r.ok for r in results)
    print(f"\n{good} OK, {len(results) - good} BAD of {len(results)} probes "
          f"in {seconds:.0f} s")


def main() -> None:
    """Build or reuse the base store, run the probes, print each and the final table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_store_args(parser)
    parser.add_argument("--only", action="append",
                        help="run only the probe of this name (repeatable)")
    parser.add_argument("--kill-window", type=float, default=24.0,
                        help="kill -9 the 200k-row imports within this many seconds")
    args = parser.parse_args()
    open_store(args.db, args.mirror, args.rebuild).close()
    start, results = time.perf_counter(), []
    with tempfile.TemporaryDirectory(prefix="chainatlas-probe-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "CHAINATLAS_HOME": str(work / "home"),
               "CHAINATLAS_DB": str(work / "unused.duckdb"), "COLUMNS": "200"}
        if args.mirror:
            env["CHAINATLAS_MIRROR"] = str(args.mirror)
        ctx = Context(Path(args.db), work, env)
        spent = {}
        for name, probe in probes(args.kill_window).items():
            if args.only and name not in args.only:
                continue
            began = time.perf_counter()
            for result in run_probe(name, probe, ctx):
                show(result)
                results.append(result)
            spent[name] = time.perf_counter() - began
    summary(results, time.perf_counter() - start)
    print("seconds per probe: " + ", ".join(f"{n} {s:.0f}" for n, s in spent.items()))


if __name__ == "__main__":
    main()
