"""Throughput of ``ScopeClassifier`` (scope-keyword rules + text model) on synthetic scopes.

A deterministic generator writes realistic Chinese business scopes (经营范围, 80-300
characters): licensed and general items mixing node keywords sampled from the chain
templates with generic clauses and the usual boilerplate. The text model is trained once
up front from the store exactly as ``classify_store`` trains it (rule evidence of every
chain -> confident product-backed labels -> ``train_model``); its training time is
reported separately.

Everything runs in one process pinned to one core, with OpenMP/BLAS limited to one thread
(set before numpy is imported). Texts are streamed from the generator in batches, so
memory stays bounded. Overall throughput is measured with ``ScopeClassifier.classify`` on
every batch; the per-stage split (rules: ``ScopeClassifier`` without a model; model:
``TextModel.top_labels``; the rest: merging and confidences) is measured on every
``--stage-every``-th batch. Goal: >= 20,000 firms/s per core.

Usage: python benchmarks/bench_classify.py [--db PATH] [--mirror DIR] [--n 1000000]
       [--batch 10000] [--seed 0] [--profile N]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported, or it is too late

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Iterator, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from _common import add_store_args, open_store, peak_rss_mb, rss_mb  # noqa: E402

from chainatlas.chains.classify import (  # noqa: E402
    ScopeClassifier,
    firms_from_db,
    rule_evidence,
    train_model,
    training_labels,
)
from chainatlas.chains.matcher import ChainMatcher  # noqa: E402
from chainatlas.chains.templates import ChainTemplate, load_templates  # noqa: E402
from chainatlas.chains.textmodel import TextModel  # noqa: E402
from chainatlas.store import Database  # noqa: E402

GOAL_PER_CORE = 20_000
MIN_CHARS, MAX_CHARS = 80, 300

# --------------------------------------------------------------------------- generator

LICENSED = (
    "药品生产", "药品批发", "药品零售", "第三类医疗器械经营", "第三类医疗器械生产",
    "第二类医疗器械生产", "食品生产", "食品销售", "道路货物运输（不含危险货物）",
    "建设工程施工", "第二类增值电信业务", "危险化学品经营", "检验检测服务", "特种设备制造",
    "特种设备安装改造修理", "兽药生产", "饲料生产", "农作物种子经营", "医疗服务",
    "互联网信息服务", "酒类经营", "电气安装服务", "输电、供电、受电电力设施的安装、维修和试验",
)
GENERAL = (
    "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广", "货物进出口", "技术进出口",
    "进出口代理", "信息咨询服务（不含许可类信息咨询服务）", "企业管理咨询", "市场营销策划",
    "会议及展览服务", "非居住房地产租赁", "住房租赁", "物业管理", "办公用品销售",
    "日用百货销售", "五金产品批发", "五金产品零售", "机械设备租赁", "专用设备修理",
    "通用设备修理", "普通货物仓储服务（不含危险化学品等需许可审批的项目）", "国内贸易代理",
    "销售代理", "广告设计、代理", "广告制作", "平面设计", "企业形象策划",
    "人力资源服务（不含职业中介活动、劳务派遣服务）", "园林绿化工程施工", "金属材料销售",
    "建筑材料销售", "化工产品销售（不含许可类化工产品）", "塑料制品销售", "电子产品销售",
    "计算机软硬件及辅助设备零售", "第一类医疗器械销售", "第二类医疗器械销售",
    "社会经济咨询服务", "工程和技术研究和试验发展", "医学研究和试验发展",
    "自然科学研究和试验发展", "信息系统集成服务", "数据处理和存储支持服务", "软件开发",
    "包装服务", "装卸搬运", "食用农产品批发", "农副产品销售", "机械设备销售", "仪器仪表销售",
    "新材料技术研发", "环境保护专用设备销售", "电子元器件制造", "电子专用材料研发",
)
KEYWORD_FORMS = ("{}", "{}制造", "{}销售", "{}研发", "{}生产", "{}的研发、生产和销售",
                 "{}技术服务", "{}批发", "{}零售", "{}加工")
LICENSED_TAIL = "（依法须经批准的项目，经相关部门批准后方可开展经营活动，具体经营项目以相关部门" \
                "批准文件或许可证件为准）"
GENERAL_TAIL = "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
OLD_TAIL = "。（依法须经批准的项目，经相关部门批准后方可开展经营活动）"


class ScopeGenerator:
    """Deterministic synthetic business scopes, streamed one text at a time.

    A quarter of the firms are generic (trade, services) and name no node keyword; the
    others name 1-4 keywords of one chain (and, one time in five, one of another chain).
    Three in five use the 2021 format (许可项目 / 一般项目), the rest the older
    enumerated form. Every text is 80-300 characters.
    """

    def __init__(self, templates: Mapping[str, ChainTemplate], seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.keywords = {cid: [kw for n in t.nodes for kw in n.keywords]
                         for cid, t in templates.items()}
        self.chains = sorted(cid for cid, kws in self.keywords.items() if kws)
        self.last_had_keyword = False

    def _keyword_items(self) -> list[str]:
        rng = self.rng
        if rng.random() < 0.25:
            return []
        chain = rng.choice(self.chains)
        words = rng.sample(self.keywords[chain], k=min(rng.randint(1, 4),
                                                        len(self.keywords[chain])))
        if rng.random() < 0.2:
            words.append(rng.choice(self.keywords[rng.choice(self.chains)]))
        return [rng.choice(KEYWORD_FORMS).format(w) for w in words]

    def text(self) -> str:
        """One business scope."""
        rng = self.rng
        target = rng.randint(MIN_CHARS, MAX_CHARS)
        specific = self._keyword_items()
        self.last_had_keyword = bool(specific)
        pool = rng.sample(GENERAL, k=len(GENERAL))
        new_style = rng.random() < 0.6
        licensed = rng.sample(LICENSED, k=rng.randint(0, 3)) if new_style else []
        n_licensed = rng.randint(0, len(specific)) // 2 if licensed else 0
        licensed += specific[:n_licensed]
        items = specific[n_licensed:] + pool[:rng.randint(1, 3)]
        used = len(items) - len(specific) + n_licensed

        def render() -> str:
            if not new_style:
                return f"{'、'.join(items)}{OLD_TAIL}"
            head = f"许可项目：{'；'.join(licensed)}{LICENSED_TAIL}" if licensed else ""
            return f"{head}一般项目：{'；'.join(items)}{GENERAL_TAIL}"

        out = render()
        while len(out) < target and used < len(pool):
            items.append(pool[used])
            used += 1
            if len(render()) > MAX_CHARS:
                items.pop()
                break
            out = render()
        while len(out) > MAX_CHARS and len(items) > 1:
            items.pop()
            out = render()
        rng.shuffle(items)
        return render()[:MAX_CHARS]

    def stream(self, n: int) -> Iterator[tuple[str, bool]]:
        """``n`` (text, names a node keyword by design) pairs, lazily."""
        for _ in range(n):
            text = self.text()
            yield text, self.last_had_keyword


# --------------------------------------------------------------------------- benchmark


def pin_one_core() -> str:
    """Pin this process to the first CPU it may use; return a description."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this platform)"
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {allowed[0]})
    return f"pinned to CPU {allowed[0]} (of {len(allowed)} allowed)"


def train_like_classify_store(db: Database, templates: Mapping[str, ChainTemplate]
                              ) -> tuple[TextModel | None, float, int]:
    """Train the text model as ``classify_store`` does; return it, seconds and #firms.

    Reading the firms and computing the rule evidence of every chain (which yields the
    training labels) are part of the time, as they are part of every classification run.
    """
    start = time.perf_counter()
    firms = firms_from_db(db)
    names = dict(db.execute(
        "SELECT code, name FROM industries WHERE scheme = 'sw2021'").fetchall())
    labels: dict[str, list[str]] = defaultdict(list)
    for chain_id, template in templates.items():
        evidence = rule_evidence(template, ChainMatcher(template), firms, names)
        for cid, rows in training_labels(evidence, chain_id).items():
            labels[cid].extend(rows)
    model = train_model(firms, labels)
    return model, time.perf_counter() - start, sum(1 for f in firms if f.products)


@dataclass
class Tally:
    """Running totals over the batches."""

    texts: int = 0
    keyword_texts: int = 0
    chars: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    generate_s: float = 0.0
    placed: int = 0
    placed_keyword: int = 0
    placed_generic: int = 0
    placements: int = 0
    by_chain: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    batch_rates: list[float] = field(default_factory=list)
    stage_texts: int = 0
    stage_total_s: float = 0.0
    stage_rules_s: float = 0.0
    stage_model_s: float = 0.0
    stage_placed_rules: int = 0
    stage_model_hits: int = 0


def batches(texts: Iterator[tuple[str, bool]], size: int
            ) -> Iterator[tuple[list[str], list[bool]]]:
    """Consecutive batches of ``size`` texts and their flags (the last may be shorter)."""
    while batch := list(itertools.islice(texts, size)):
        yield [t for t, _ in batch], [k for _, k in batch]


def run(classifier: ScopeClassifier, rules_only: ScopeClassifier,
        texts: Iterator[tuple[str, bool]], batch_size: int, stage_every: int,
        progress_every: int) -> Tally:
    """Classify every text in batches; measure the stages on every ``stage_every``-th."""
    tally = Tally()
    model = classifier.model
    start_gen = time.perf_counter()
    for i, (batch, flags) in enumerate(batches(texts, batch_size)):
        tally.generate_s += time.perf_counter() - start_gen
        start, cpu = time.perf_counter(), time.process_time()
        result = classifier.classify(batch)
        elapsed = time.perf_counter() - start
        tally.cpu_seconds += time.process_time() - cpu
        tally.seconds += elapsed
        tally.batch_rates.append(len(batch) / elapsed)
        tally.texts += len(batch)
        tally.chars += sum(map(len, batch))
        tally.keyword_texts += sum(flags)
        for rows, flag in zip(result, flags, strict=True):
            tally.placed += bool(rows)
            tally.placed_keyword += bool(rows) and flag
            tally.placed_generic += bool(rows) and not flag
            tally.placements += len(rows)
            for chain in {cid for cid, _, _ in rows}:
                tally.by_chain[chain] += 1
        if stage_every and i % stage_every == 0:
            start = time.perf_counter()
            rules = rules_only.classify(batch)
            tally.stage_rules_s += time.perf_counter() - start
            if model is not None:
                start = time.perf_counter()
                labelled = model.top_labels(batch)
                tally.stage_model_s += time.perf_counter() - start
                tally.stage_model_hits += sum(bool(rows) for rows in labelled)
            tally.stage_total_s += elapsed
            tally.stage_texts += len(batch)
            tally.stage_placed_rules += sum(bool(rows) for rows in rules)
        if progress_every and (i + 1) % progress_every == 0:
            print(f"  ... {tally.texts:,} texts, {tally.texts / tally.seconds:,.0f} firms/s, "
                  f"RSS {rss_mb():.0f} MiB", flush=True)
        start_gen = time.perf_counter()
    return tally


def boilerplate_hits(rules_only: ScopeClassifier) -> None:
    """Print the generator's generic clauses that the scope rules place on a node alone."""
    clauses = [*LICENSED, *GENERAL]
    hits = [(c, rows) for c, rows in zip(clauses, rules_only.classify(clauses), strict=True)
            if rows]
    print(f"generic clauses (of {len(clauses)}) placed by the scope rules on their own: "
          f"{len(hits)}")
    for clause, rows in hits:
        print(f"  {clause} -> " + ", ".join(f"{c}:{n} {conf:.2f}" for c, n, conf in rows))


def profile(classifier: ScopeClassifier, texts: Sequence[str], top: int = 25) -> None:
    """cProfile one ``classify`` call over ``texts``; print the costliest functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    classifier.classify(texts)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"\n== cProfile of classify() on {len(texts):,} texts (by own time) ==")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


def main() -> None:
    """Train, stream, classify and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_store_args(parser)
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic firms")
    parser.add_argument("--batch", type=int, default=10_000, help="texts per batch")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--stage-every", type=int, default=10,
                        help="measure the stages on every k-th batch (0: never)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also cProfile classify() on N further texts")
    args = parser.parse_args()
    print(f"process {os.getpid()}, {pin_one_core()}, "
          f"OMP/OPENBLAS/MKL threads = {os.environ['OMP_NUM_THREADS']}")

    templates = load_templates()
    with open_store(args.db, args.mirror, args.rebuild) as db:
        model, train_s, n_train = train_like_classify_store(db, templates)
    print(f"text model: trained in {train_s:.2f} s (rule evidence + labels + fit) on "
          f"{n_train:,} listed firms with products; "
          f"{len(model.labels) if model else 0} node labels")
    start = time.perf_counter()
    classifier = ScopeClassifier(templates, model)
    rules_only = ScopeClassifier(templates, None)
    print(f"classifier set-up (5 automata): {time.perf_counter() - start:.2f} s; peak RSS "
          f"after training {peak_rss_mb():.0f} MiB")

    boilerplate_hits(rules_only)
    generator = ScopeGenerator(templates, args.seed + 1)
    classifier.classify([generator.text() for _ in range(200)])  # warm-up
    peak_before = peak_rss_mb()
    print(f"\nclassifying {args.n:,} synthetic scopes in batches of {args.batch:,} "
          f"(seed {args.seed}) ...")
    wall = time.perf_counter()
    tally = run(classifier, rules_only, ScopeGenerator(templates, args.seed).stream(args.n),
                args.batch, args.stage_every, max(1, 100_000 // args.batch))
    wall = time.perf_counter() - wall

    rate = tally.texts / tally.seconds
    print(f"\n== results ({tally.texts:,} texts, mean {tally.chars / tally.texts:.0f} chars) ==")
    print(f"ScopeClassifier.classify (rules + model): {rate:,.0f} firms/s per core "
          f"({tally.seconds:.1f} s; batch rates median {statistics.median(tally.batch_rates):,.0f}"
          f", min {min(tally.batch_rates):,.0f}, max {max(tally.batch_rates):,.0f})")
    print(f"  per CPU-second of this process (robust to other load on the machine): "
          f"{tally.texts / tally.cpu_seconds:,.0f} firms/s ({tally.cpu_seconds:.1f} s CPU)")
    print(f"goal >= {GOAL_PER_CORE:,} firms/s per core: "
          f"{'MET' if rate >= GOAL_PER_CORE else 'NOT MET'} ({rate / GOAL_PER_CORE:.2f}x goal)")
    if tally.stage_texts:
        rules_s, model_s = tally.stage_rules_s, tally.stage_model_s
        print(f"per stage, timed separately on the same {tally.stage_texts:,} texts (every "
              f"{args.stage_every}th batch; classify took {tally.stage_total_s:.2f} s on them):")
        for label, s in (("rules: ScopeClassifier without model", rules_s),
                         ("model: TextModel.top_labels", model_s)):
            print(f"  {label:<38} {tally.stage_texts / s:>10,.0f} firms/s  {s:7.2f} s = "
                  f"{100 * s / tally.stage_total_s:5.1f} % of classify time")
    print(f"generator (not in the figures above): {tally.texts / tally.generate_s:,.0f} texts/s;"
          f" wall time {wall:.1f} s")
    print(f"peak RSS: {peak_rss_mb():.0f} MiB (before streaming {peak_before:.0f} MiB, of "
          f"which the model training; RSS now {rss_mb():.0f} MiB)")
    generic = tally.texts - tally.keyword_texts
    print(f"\nsanity: texts with >= 1 placement {100 * tally.placed / tally.texts:.1f} % "
          f"({tally.placements / tally.texts:.2f} placements per text); with >= 1 rule "
          f"placement (sampled batches) "
          f"{100 * tally.stage_placed_rules / max(tally.stage_texts, 1):.1f} %; with >= 1 model "
          f"label (p >= 0.5, sampled batches) "
          f"{100 * tally.stage_model_hits / max(tally.stage_texts, 1):.2f} %")
    print(f"  texts naming a node keyword by design: {100 * tally.keyword_texts / tally.texts:.1f}"
          f" %, of which placed {100 * tally.placed_keyword / max(tally.keyword_texts, 1):.1f}"
          f" %; generic-only texts placed {100 * tally.placed_generic / max(generic, 1):.1f} %")
    print("  texts placed per chain: " + ", ".join(
        f"{c} {100 * n / tally.texts:.1f} %" for c, n in sorted(tally.by_chain.items())))
    if args.profile:
        profile(classifier, [t for t, _ in ScopeGenerator(templates, args.seed + 2)
                             .stream(args.profile)])


if __name__ == "__main__":
    main()
