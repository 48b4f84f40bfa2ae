"""Rerun issue 10's hostile-input probes against the real CLI and print what each gave.

Each probe runs ``chainatlas`` in a subprocess on a copy of a listed-firm store (built
once from the open-data mirror at ``--db`` when missing) and prints one line: the exit
status, the seconds and peak memory of the child, whether a traceback was printed, whether
the store's bytes changed, and the first line of the message. The issue's figures from
before the fix are printed beside each probe, so the before/after is in one run.

    python benchmarks/probe_hardening.py [--db /tmp/probe.duckdb] [--only NAME]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _common import add_store_args, open_store

HEADER = ["企业名称", "统一社会信用代码", "注册地址", "经营范围", "注册资本", "成立日期",
          "从业人数"]
ROW = ["石家庄测试制药有限公司", "", "河北省石家庄市长安区", "片剂、胶囊剂的生产", "503万元",
       "2001-05-01", "2762"]


@dataclass
class Run:
    """What one CLI call gave."""

    status: int
    seconds: float
    peak_mb: float
    output: str

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.output

    @property
    def first_line(self) -> str:
        """The message: the first line saying Error (else the first line), bars left out."""
        lines = [ln.strip() for ln in self.output.splitlines()
                 if ln.strip() and "0:00:" not in ln]
        errors = [ln for ln in lines if "Error" in ln or "rror:" in ln]
        return ((errors or lines or [""])[0])[:160]


#: The probes' children may use this much memory (the XFD1048576 workbook once took
#: 8.5 GB and more): past it they fail, and the probe says so, instead of the machine.
MEMORY_CAP = 8 * 2**30


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(args: list[str], env: dict[str, str], timeout: float = 180) -> Run:
    """Run ``chainatlas ARGS``; its own peak RSS comes from wait4's rusage."""
    exe = str(Path(sys.executable).with_name("chainatlas"))
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([exe, *args], stdout=out, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_cap_memory)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    return Run(code, time.perf_counter() - start, usage.ru_maxrss / 1024, text)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def write_csv(path: Path, rows: list[list[str]], *, cut: int | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    if cut is not None:  # drop the last ``cut`` bytes: a file cut mid-row
        data = path.read_bytes()
        path.write_bytes(data[:-cut])
    return path


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


class Probes:
    """The probes, each a method returning (what the issue saw, the run, a verdict)."""

    def __init__(self, base: Path, work: Path) -> None:
        self.base, self.work = base, work
        self.env = {**os.environ, "CHAINATLAS_HOME": str(work / "home"),
                    "CHAINATLAS_DB": str(work / "unused.duckdb"), "COLUMNS": "200"}

    def fresh_store(self) -> Path:
        target = self.work / "store.duckdb"
        shutil.copyfile(self.base, target)
        return target

    def import_file(self, file: Path, *extra: str) -> tuple[Run, bool]:
        store = self.fresh_store()
        before = sha(store)
        run = run_cli(["import", "roster", str(file), "--db", str(store), *extra], self.env)
        return run, sha(store) != before

    def xlsx_xfd(self) -> tuple[str, Run, bool]:
        file = far_cell_xlsx(self.work / "xfd.xlsx", "XFD1048576")
        run, changed = self.import_file(file)
        return "8.5 GB of memory in 96 s", run, changed

    def xlsx_a_last(self) -> tuple[str, Run, bool]:
        file = far_cell_xlsx(self.work / "alast.xlsx", "A1048576")
        run, changed = self.import_file(file)
        return "31.6 s and 2.6 GB", run, changed

    def same_name_10(self) -> tuple[str, Run, bool]:
        rows = [[ROW[0], "", ROW[2], ROW[3], f"{100 + i}万元", ROW[5], str(10 + i)]
                for i in range(10)]
        run, changed = self.import_file(write_csv(self.work / "same10.csv", rows))
        return "10 rows: 9 inserted, 0 rejected", run, changed

    def cut_mid_row(self) -> tuple[str, Run, bool]:
        # the last row ends "...,503万元,2001-05-01,2762": cut after "27"
        rows = [["石家庄甲公司", "", ROW[2], ROW[3], "100万元", ROW[5], "10"],
                ["石家庄乙公司", "", ROW[2], ROW[3], "200万元", ROW[5], "2762"]]
        run, changed = self.import_file(write_csv(self.work / "cut.csv", rows, cut=4))
        return "the cut value imported (2762 → 27)", run, changed

    def missing_cells(self) -> tuple[str, Run, bool]:
        file = self.work / "short.csv"
        file.write_text(",".join(HEADER) + "\n石家庄丙公司,,石家庄市,药品生产\n", "utf-8")
        run, changed = self.import_file(file)
        return "row with missing trailing cells accepted", run, changed

    def huge_values(self) -> tuple[str, Run, bool]:
        rows = [["石家庄丁公司", "", ROW[2], ROW[3], "1E9999999", ROW[5], str(2**31)]]
        run, changed = self.import_file(write_csv(self.work / "huge.csv", rows))
        return "DuckDB ConversionException / decimal.Overflow traceback", run, changed

    def rot13(self) -> tuple[str, Run, bool]:
        file = write_csv(self.work / "ok.csv", [ROW])
        run, changed = self.import_file(file, "--encoding", "rot13")
        return "traceback", run, changed

    def truncated_store(self) -> tuple[str, Run, bool]:
        store = self.fresh_store()
        store.write_bytes(store.read_bytes()[: store.stat().st_size // 3])
        run = run_cli(["stats", "--db", str(store)], self.env)
        return "traceback", run, False

    def csv_as_store(self) -> tuple[str, Run, bool]:
        file = write_csv(self.work / "not_a_store.csv", [ROW])
        before = sha(file)
        run = run_cli(["region", "石家庄", "--chain", "biomedicine", "--db", str(file)],
                      self.env)
        return "traceback", run, sha(file) != before

    def missing_store_import(self) -> tuple[str, Run, bool]:
        missing = self.work / "typo.duckdb"
        run = run_cli(["import", "roster", str(write_csv(self.work / "ok2.csv", [ROW])),
                       "--db", str(missing)], self.env)
        return "an empty store created and imported into", run, missing.exists()

    def export_missing_folder(self) -> tuple[str, Run, bool]:
        store = self.fresh_store()
        run = run_cli(["export", "roster", str(self.work / "no" / "such" / "x.csv"),
                       "--db", str(store)], self.env)
        return "traceback", run, False


VERDICTS: dict[str, Callable[[Run, bool], bool]] = {
    # a refusal: non-zero exit, a message and no traceback, the store untouched
    "refused": lambda run, changed: run.status != 0 and not run.traceback and not changed,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_store_args(parser)
    parser.add_argument("--only", help="run only the probe of this name")
    args = parser.parse_args()
    open_store(args.db, args.mirror, args.rebuild).close()
    names = [n for n in vars(Probes) if not n.startswith("_")
             and n not in {"fresh_store", "import_file"}]
    with tempfile.TemporaryDirectory() as tmp:
        probes = Probes(Path(args.db), Path(tmp))
        print(f"{'probe':<22} {'exit':>4} {'s':>6} {'MB':>6} tb  store  before → now")
        for name in names:
            if args.only and name != args.only:
                continue
            before, run, changed = getattr(probes, name)()
            ok = VERDICTS["refused"](run, changed)
            print(f"{name:<22} {run.status:>4} {run.seconds:>6.1f} {run.peak_mb:>6.0f} "
                  f"{'yes' if run.traceback else 'no ':<3} {'CHANGED' if changed else 'same':<6} "
                  f"{'OK ' if ok else 'BAD'} was: {before}\n{'':<24}now: {run.first_line}")


if __name__ == "__main__":
    main()
