"""Draw the firms of the hand-labelled registry development set (SAMPLING ONLY).

This script picks which registry rows a person then reads and labels by hand following
GUIDELINE.md. It never assigns labels: its theme word lists only decide which rows are
*drawn* into the ``theme`` stratum (to have enough firms of the five chains to judge), not
what they are.

Strata
  random  uniformly random over the eligible non-Hebei rows (seed below);
  theme   rows whose name or scope mentions a chain theme word, an equal share per theme
          group, spread over provinces (provinces taken round-robin in a random order);
          then a smaller top-up per chain of rows whose NAME has a theme word and whose
          scope names a making/serving activity (theme_group ``<chain>_maker``).

Eligible rows: well-formed (10 fields, 所在省份 equal to the file's province, no U+FFFD
mojibake), province file other than 河北, USCC not ``N/A`` and occurring exactly once in the
WHOLE registry (all files, Hebei included, malformed rows included).

Output: ``--out`` gets ``uscc,stratum,theme_group,source`` (ids only, safe to keep);
``--reading`` (default under /tmp, never commit it) gets the rows' text for the labeller,
as it is CC BY-NC-SA registry content.

The independent test sample (``registry_test.csv``) was drawn with
``--seed 20261202 --random 120 --theme 16 --maker 6 --exclude benchmarks/labels/registry_dev.csv``:
a different seed, no firm of the development set, and labelled by readers who had not seen
the classifier's output on it.

Usage: python benchmarks/labels/sample_registry.py [--registry DIR] [--out FILE] [--reading FILE]
       [--seed N] [--random N] [--theme N] [--maker N] [--exclude LABELS.csv]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

SEED = 20240611
N_RANDOM = 260
N_THEME_PER_GROUP = 45
EXCLUDED_PROVINCE = "河北"
HEADER = ["企业名称", "统一社会信用代码", "注册日期", "企业类型", "法人代表", "注册资金",
          "经营范围", "所在省份", "地区", "注册地址"]

# Theme words used ONLY to draw the theme stratum (not to label).
THEME_GROUPS: dict[str, list[str]] = {
    "biomedicine": ["药", "医疗", "医院", "生物", "卫生材料", "诊所", "卫生院"],
    "electronics": ["电子", "通信", "通讯", "软件", "集成电路", "计算机", "半导体", "网络",
                    "信息技术"],
    "advanced_equipment": ["机械", "设备", "汽车", "机床", "电机", "阀门", "轴承", "仪器仪表"],
    "modern_food": ["食品", "饮料", "酒", "乳", "粮油", "饲料", "养殖", "餐饮", "肉"],
    "commerce_logistics": ["物流", "运输", "仓储", "贸易", "货运", "快递", "超市", "商场"],
}
# Second theme pass (drawn after the first, so it leaves the earlier picks unchanged): the
# word must be in the NAME and the scope must name a making/serving activity. It tops up
# producer-side firms, which the first pass (dominated by shops) draws few of.
N_THEME_MAKER_PER_GROUP = 15
THEME_MAKER_GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "biomedicine_maker": (["制药", "药业", "药厂", "医疗器械", "医院", "卫生院", "生物制品",
                           "诊所", "医用"], ["生产", "制造", "加工", "诊疗", "医疗", "预防"]),
    "electronics_maker": (["电子", "集成电路", "半导体", "软件", "通信", "光电", "计算机",
                           "微电子"], ["生产", "制造", "加工", "开发"]),
    "advanced_equipment_maker": (["机械", "机床", "汽车", "电机", "阀门", "轴承", "设备",
                                  "仪表", "电器"], ["生产", "制造", "加工"]),
    "modern_food_maker": (["食品", "乳业", "酒业", "酒厂", "饲料", "粮油", "肉", "饮料",
                           "面粉", "茶业"], ["生产", "制造", "加工", "养殖", "种植"]),
    "commerce_logistics_maker": (["物流", "运输", "货运", "仓储", "快递", "储运", "航运"],
                                 ["运输", "仓储", "货运", "物流", "快递", "装卸"]),
}


def open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def iter_rows(root: Path):
    """Yield (source, province_of_file, fields) for every data row of every file."""
    for path in sorted(root.glob("*/*.csv*")):
        province = path.name.split(".")[0]
        source = f"{path.parent.name}/{province}"
        with open_text(path) as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for fields in reader:
                yield source, province, fields


def well_formed(province: str, fields: list[str]) -> bool:
    if len(fields) != len(HEADER):
        return False
    if fields[7] != province:
        return False
    return not any("\ufffd" in f for f in fields)


def draw_theme(picked: list[tuple[str, str, str, list[str]]], taken: set[str], group: str,
               eligible: list[tuple[str, list[str]]], quota: int, rng: random.Random,
               matches: Callable[[list[str]], bool]) -> None:
    """Draw up to ``quota`` rows that ``matches``, not taken yet, one province at a time
    (provinces and each province's rows in a random order), into ``picked``."""
    by_prov: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for source, fields in eligible:
        if fields[1] not in taken and matches(fields):
            by_prov[fields[7]].append((source, fields))
    provinces = sorted(by_prov)
    rng.shuffle(provinces)
    for prov in provinces:
        rng.shuffle(by_prov[prov])
    n = 0
    while n < quota and any(by_prov.values()):
        for prov in provinces:
            if n >= quota or not by_prov[prov]:
                continue
            source, fields = by_prov[prov].pop()
            picked.append(("theme", group, source, fields))
            taken.add(fields[1])
            n += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", default="/work/shared/data/registry/csv", type=Path)
    ap.add_argument("--out", default="/tmp/chainatlas_labels/sample_ids.csv", type=Path)
    ap.add_argument("--reading", default="/tmp/chainatlas_labels/sample_text.csv", type=Path)
    ap.add_argument("--seed", default=SEED, type=int)
    ap.add_argument("--random", default=N_RANDOM, type=int, dest="n_random")
    ap.add_argument("--theme", default=N_THEME_PER_GROUP, type=int, dest="n_theme")
    ap.add_argument("--maker", default=N_THEME_MAKER_PER_GROUP, type=int, dest="n_maker")
    ap.add_argument("--exclude", type=Path, default=None,
                    help="a labels CSV whose uscc column is never drawn again")
    args = ap.parse_args()
    excluded: set[str] = set()
    if args.exclude is not None:
        with open(args.exclude, encoding="utf-8", newline="") as fh:
            excluded = {row["uscc"] for row in csv.DictReader(fh)}

    counts: Counter[str] = Counter()
    rows: list[tuple[str, list[str]]] = []
    n_all = n_bad = 0
    for source, province, fields in iter_rows(args.registry):
        n_all += 1
        if len(fields) > 1:
            counts[fields[1].strip()] += 1
        if not well_formed(province, fields):
            n_bad += 1
            continue
        if province == EXCLUDED_PROVINCE:
            continue
        rows.append((source, fields))

    eligible = [(s, f) for s, f in rows
                if f[1].strip() not in ("", "N/A") and counts[f[1].strip()] == 1
                and f[1] not in excluded]
    print(f"rows {n_all}, malformed {n_bad}, non-Hebei well-formed {len(rows)}, "
          f"eligible {len(eligible)}")

    rng = random.Random(args.seed)
    picked: list[tuple[str, str, str, list[str]]] = []
    taken: set[str] = set()
    for source, fields in rng.sample(eligible, args.n_random):
        picked.append(("random", "", source, fields))
        taken.add(fields[1])

    for group, words in THEME_GROUPS.items():
        pattern = re.compile("|".join(map(re.escape, words)))
        draw_theme(picked, taken, group, eligible, args.n_theme, rng,
                   lambda f, p=pattern: bool(p.search(f[0]) or p.search(f[6])))

    for group, (name_words, scope_words) in THEME_MAKER_GROUPS.items():
        name_pat = re.compile("|".join(map(re.escape, name_words)))
        scope_pat = re.compile("|".join(map(re.escape, scope_words)))
        draw_theme(picked, taken, group, eligible, args.n_maker, rng,
                   lambda f, n=name_pat, sc=scope_pat: bool(n.search(f[0]) and sc.search(f[6])))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["uscc", "stratum", "theme_group", "source"])
        for stratum, group, source, fields in picked:
            w.writerow([fields[1], stratum, group, source])
    args.reading.parent.mkdir(parents=True, exist_ok=True)
    with open(args.reading, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["uscc", "stratum", "theme_group", "source", "name", "type", "scope"])
        for stratum, group, source, fields in picked:
            w.writerow([fields[1], stratum, group, source, fields[0], fields[3], fields[6]])
    print(f"wrote {len(picked)} ids to {args.out} and their text to {args.reading}")


if __name__ == "__main__":
    main()
