"""Evaluate the classification approach on the listed firms of the store.

(a) Shenwan level-3 industry from product names alone (firms with >= 1 product of kind
    'product'), on a stratified 20 % hold-out (seed 0). Shenwan classes with fewer than two
    such firms cannot be stratified and are dropped from the evaluation.
    OUR model: the text-model features of :mod:`chainatlas.chains.textmodel` (character
    1-3 grams hashed into 2**18 features, sublinear tf-idf) with a linear classifier. The
    script may weight each product's n-grams by its revenue share and add whole-product-name
    tokens; the variant and the classifier are picked on an internal validation split of
    the TRAINING firms only. The library's own ``fit_text_model`` (product names joined,
    one-vs-rest SGD logistic, argmax) is reported as a reference, as is the BASELINE:
    scikit-learn ``TfidfVectorizer()`` (defaults) on the product names joined by spaces with
    ``LogisticRegression(max_iter=1000)``. All are fitted in the same run on the same split.
(b) Chain-level agreement between placements (``firm_nodes``) and Shenwan sectors:
    医药生物 (37) -> chain 'biomedicine'; 电子/通信/计算机 (27/73/71) -> 'electronics'. The
    Shenwan signal can place firms by itself, so agreement is also given from text evidence
    only (placements whose signals include products, scope or model), and strictly (the text
    signals alone reach the placement threshold). Prints the largest disagreements.

Usage: python benchmarks/eval_classify.py [--db PATH] [--mirror DIR] [--rebuild] [--top 15]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core for every fit, ours and the baseline alike

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import jieba  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from _common import add_store_args, open_store  # noqa: E402
from scipy import sparse  # noqa: E402
from sklearn.feature_extraction.text import (  # noqa: E402
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)
from sklearn.linear_model import LogisticRegression, SGDClassifier  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from chainatlas.chains.classify import Firm, firms_from_db  # noqa: E402
from chainatlas.chains.signals import PLACE_THRESHOLD, noisy_or  # noqa: E402
from chainatlas.chains.textmodel import N_FEATURES, fit_text_model, ngram_counts  # noqa: E402
from chainatlas.store import Database  # noqa: E402

jieba.setLogLevel(logging.WARNING)
SEED = 0
TEST_SIZE = 0.2
TEXT_SIGNALS = ("products", "scope", "model")
SECTORS: dict[str, tuple[str, ...]] = {"biomedicine": ("37",), "electronics": ("27", "73", "71")}

Labels = npt.NDArray[np.str_]


# --------------------------------------------------------------------------- (a) features


def _whole_name(name: str) -> list[str]:
    """Analyzer of the name-token features: the whole product name is one token."""
    return [name]


@dataclass
class ProductFeatures:
    """Firm vectors from product names: the text model's char n-grams, optionally weighted.

    Each product contributes its n-gram counts times ``1 + share_weight * s``, with ``s`` the
    product's share of the firm's (positive) revenue, so ``share_weight = 0`` is the plain
    bag of the firm's product names. With ``name_weight > 0``, tf-idf weighted whole-name
    tokens are appended, scaled by it. Columns never seen in training are dropped: a linear
    model gives them zero weight anyway, so this only saves memory and time.
    """

    share_weight: float
    name_weight: float
    _tfidf: list[TfidfTransformer] = field(default_factory=list)
    _columns: npt.NDArray[np.intp] | None = None

    def _raw(self, firms: Sequence[Firm]) -> list[sparse.csr_matrix]:
        names = sorted({name for f in firms for name, _ in f.products})
        index = {name: i for i, name in enumerate(names)}
        rows, cols, vals = [], [], []
        for i, firm in enumerate(firms):
            total = sum(share for _, share in firm.products) or 1.0
            for name, share in firm.products:
                rows.append(i)
                cols.append(index[name])
                vals.append(1.0 + self.share_weight * share / total)
        weights = sparse.csr_matrix((vals, (rows, cols)), shape=(len(firms), len(names)))
        out = [weights @ ngram_counts(names)]
        if self.name_weight > 0:
            hasher = HashingVectorizer(analyzer=_whole_name, n_features=N_FEATURES,
                                       alternate_sign=False, norm=None)
            out.append(weights @ hasher.transform(names))
        return out

    def fit_transform(self, firms: Sequence[Firm]) -> sparse.csr_matrix:
        """Fit tf-idf (and the kept columns) on ``firms``; return their vectors."""
        raw = self._raw(firms)
        self._tfidf = [TfidfTransformer(sublinear_tf=True).fit(x) for x in raw]
        x = self._combine(raw)
        self._columns = np.flatnonzero(x.getnnz(axis=0))
        return x[:, self._columns]

    def transform(self, firms: Sequence[Firm]) -> sparse.csr_matrix:
        """Vectors of other firms, in the fitted space."""
        assert self._columns is not None, "fit_transform first"
        return self._combine(self._raw(firms))[:, self._columns]

    def _combine(self, raw: list[sparse.csr_matrix]) -> sparse.csr_matrix:
        parts = [t.transform(x) for t, x in zip(self._tfidf, raw, strict=True)]
        if len(parts) > 1:
            parts[1] = parts[1] * self.name_weight
        return sparse.hstack(parts).tocsr()


# scikit-learn estimators (untyped): fit(x, y) and predict(x).
CLASSIFIERS: dict[str, Callable[[], Any]] = {
    "sgd-logistic a=1e-5": lambda: SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=15,
                                                tol=None, random_state=SEED),
    "linear-svc C=1": lambda: LinearSVC(C=1.0),
    "linear-svc C=1 balanced": lambda: LinearSVC(C=1.0, class_weight="balanced"),
}
SHARE_WEIGHTS = (0.0, 4.0, 10.0, 20.0)
NAME_WEIGHTS = (0.0, 0.5)


@dataclass(frozen=True)
class Candidate:
    """One variant of our model: feature weighting and classifier."""

    share_weight: float
    name_weight: float
    classifier: str

    def __str__(self) -> str:
        return (f"share weight {self.share_weight:g}, name tokens {self.name_weight:g}, "
                f"{self.classifier}")


@dataclass
class Result:
    """Scores and timings of one model on one split."""

    accuracy: float
    macro_f1: float
    fit_s: float
    predict_s: float


def score(y_true: Labels, y_pred: Labels, fit_s: float, predict_s: float) -> Result:
    """Accuracy and macro-F1 (over the classes present in ``y_true``)."""
    labels = sorted(set(y_true.tolist()))
    return Result(float(accuracy_score(y_true, y_pred)),
                  float(f1_score(y_true, y_pred, labels=labels, average="macro",
                                 zero_division=0)), fit_s, predict_s)


def run_ours(candidate: Candidate, train: Sequence[Firm], y_train: Labels,
             test: Sequence[Firm], y_test: Labels) -> Result:
    """Fit a variant of our model on ``train``; score it on ``test``."""
    start = time.perf_counter()
    features = ProductFeatures(candidate.share_weight, candidate.name_weight)
    model = CLASSIFIERS[candidate.classifier]()
    model.fit(features.fit_transform(train), y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(features.transform(test))
    return score(y_test, pred, fit_s, time.perf_counter() - start)


def run_library_model(train: Sequence[Firm], y_train: Labels, test: Sequence[Firm],
                      y_test: Labels) -> Result:
    """The library's ``fit_text_model`` as is: one label per firm, argmax probability.

    It leaves out labels with fewer than ``MIN_EXAMPLES`` training firms (never predicted).
    """
    start = time.perf_counter()
    model = fit_text_model([f.product_text() for f in train], [[c] for c in y_train], SEED)
    fit_s = time.perf_counter() - start
    assert model is not None
    start = time.perf_counter()
    proba = model.predict_proba([f.product_text() for f in test])
    pred = np.array(model.labels)[proba.argmax(axis=1)]
    return score(y_test, pred, fit_s, time.perf_counter() - start)


def run_baseline(train: Sequence[Firm], y_train: Labels, test: Sequence[Firm],
                 y_test: Labels, segment: bool = False) -> Result:
    """TfidfVectorizer() defaults on names joined by spaces + LogisticRegression.

    The default token pattern keeps a Chinese product name whole (one token); with
    ``segment`` the names are cut into words by jieba instead (a reference, not the baseline).
    """
    def joined(firms: Sequence[Firm]) -> list[str]:
        return [" ".join(name for name, _ in f.products) for f in firms]

    start = time.perf_counter()
    tfidf = (TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None) if segment
             else TfidfVectorizer())
    model = LogisticRegression(max_iter=1000)
    model.fit(tfidf.fit_transform(joined(train)), y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(tfidf.transform(joined(test)))
    return score(y_test, pred, fit_s, time.perf_counter() - start)


def strata(y: Labels) -> Labels:
    """Stratification labels: classes with one member are pooled into one stratum."""
    counts = Counter(y.tolist())
    out = np.array([c if counts[c] >= 2 else "_rare" for c in y.tolist()])
    if (out == "_rare").sum() == 1:  # a lone pooled firm joins the largest class
        out[out == "_rare"] = counts.most_common(1)[0][0]
    return out


def split(n: int, y: Labels) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Stratified TEST_SIZE split of range(n) with the fixed seed."""
    train, test = train_test_split(np.arange(n), test_size=TEST_SIZE, random_state=SEED,
                                   stratify=strata(y))
    return np.asarray(train), np.asarray(test)


def print_result(name: str, r: Result) -> None:
    """One line of the results table."""
    print(f"  {name:<52} acc {r.accuracy:6.3f}  macro-F1 {r.macro_f1:6.3f}  "
          f"fit {r.fit_s:7.2f} s  predict {r.predict_s:6.3f} s")


def evaluate_shenwan(db: Database) -> None:
    """Part (a): Shenwan level-3 from product names."""
    print("== (a) Shenwan level-3 industry from product names ==")
    firms_all = [f for f in firms_from_db(db) if f.products and f.shenwan]
    counts = Counter(f.shenwan or "" for f in firms_all)
    small = sorted(c for c, n in counts.items() if n < 2)
    firms = [f for f in firms_all if counts[f.shenwan or ""] >= 2]
    y = np.array([f.shenwan or "" for f in firms])
    print(f"firms with a Shenwan code and >= 1 product of kind 'product': {len(firms_all)} in "
          f"{len(counts)} level-3 classes")
    print(f"dropped {len(small)} classes with < 2 such firms ({len(firms_all) - len(firms)} "
          f"firms): cannot be stratified nor both trained and tested")
    train_idx, test_idx = split(len(firms), y)
    train = [firms[i] for i in train_idx]
    test = [firms[i] for i in test_idx]
    y_train, y_test = y[train_idx], y[test_idx]
    print(f"classes {len(set(y.tolist()))} | train firms {len(train)} | test firms {len(test)}"
          f" (test classes {len(set(y_test.tolist()))}; stratified, seed {SEED})")

    # Model selection on an internal validation split of the TRAINING firms only.
    fit_idx, val_idx = split(len(train), y_train)
    fit = [train[i] for i in fit_idx]
    val = [train[i] for i in val_idx]
    print(f"\nmodel selection: internal validation split of the training firms "
          f"({len(fit)} fit / {len(val)} validation), best macro-F1 (then accuracy) wins")
    start = time.perf_counter()
    scores: dict[Candidate, Result] = {}
    for share_weight in SHARE_WEIGHTS:
        for name_weight in NAME_WEIGHTS:
            for clf in CLASSIFIERS:
                cand = Candidate(share_weight, name_weight, clf)
                scores[cand] = run_ours(cand, fit, y_train[fit_idx], val, y_train[val_idx])
                print_result(str(cand), scores[cand])
    best = max(scores, key=lambda c: (scores[c].macro_f1, scores[c].accuracy))
    print(f"selected: {best}  (selection took {time.perf_counter() - start:.1f} s)")

    print(f"\nheld-out test ({len(test)} firms), every model fitted on the {len(train)} "
          "training firms:")
    ours = run_ours(best, train, y_train, test, y_test)
    plain = Candidate(0.0, 0.0, "sgd-logistic a=1e-5")
    plain_result = run_ours(plain, train, y_train, test, y_test)
    library = run_library_model(train, y_train, test, y_test)
    baseline = run_baseline(train, y_train, test, y_test)
    segmented = run_baseline(train, y_train, test, y_test, segment=True)
    print_result(f"OURS ({best})", ours)
    print_result("  ours, unweighted names, textmodel's SGD (ref.)", plain_result)
    print_result("  library fit_text_model as is (ref.)", library)
    print_result("BASELINE TfidfVectorizer() + LogisticRegression", baseline)
    print_result("  baseline with jieba word segmentation (ref.)", segmented)
    print(f"OURS - BASELINE: accuracy {ours.accuracy - baseline.accuracy:+.3f}, macro-F1 "
          f"{ours.macro_f1 - baseline.macro_f1:+.3f} (macro-F1 over the test classes)")


# --------------------------------------------------------------------------- (b) agreement


@dataclass
class Placement:
    """One firm_nodes row, with its parsed evidence."""

    node_id: str
    confidence: float
    signals: dict[str, float]
    evidence: dict[str, Any]

    @property
    def textual(self) -> bool:
        """Rests partly on text evidence (products, scope, model)."""
        return any(s in self.signals for s in TEXT_SIGNALS)

    @property
    def text_only_confidence(self) -> float:
        """Confidence from the text signals alone (Shenwan and GB/T left out)."""
        return noisy_or(v for k, v in self.signals.items() if k in TEXT_SIGNALS)


def share(part: int, whole: int) -> str:
    """'part/whole = pct'."""
    return f"{part}/{whole} = {100 * part / whole:5.1f} %" if whole else f"{part}/0"


def evaluate_chains(db: Database, top: int) -> None:
    """Part (b): chain placements against Shenwan sectors."""
    print("\n== (b) chain placements vs Shenwan sectors (firm_nodes) ==")
    firms = {f.company_id: f for f in firms_from_db(db)}
    info = {cid: (name, cap) for cid, name, cap in db.execute(
        "SELECT company_id, short_name, registered_capital FROM companies").fetchall()}
    sw_names = dict(db.execute(
        "SELECT code, name FROM industries WHERE scheme = 'sw2021'").fetchall())
    node_names = {(c, n): z for c, n, z in db.execute(
        "SELECT chain_id, node_id, name_zh FROM chain_nodes").fetchall()}
    placed: dict[str, dict[str, list[Placement]]] = defaultdict(lambda: defaultdict(list))
    for cid, chain, node, conf, ev in db.execute(
            "SELECT company_id, chain_id, node_id, confidence, evidence FROM firm_nodes "
            "WHERE chain_id IN ('biomedicine', 'electronics')").fetchall():
        evidence = json.loads(ev)
        placed[chain][cid].append(Placement(node, conf, evidence.get("signals", {}), evidence))
    signal_counts = Counter(s for chain in placed.values() for rows in chain.values()
                            for p in rows for s in p.signals)
    print(f"signals present in these placements: {dict(signal_counts)}; the store holds "
          f"{sum(1 for f in firms.values() if f.scope)} business scopes")

    def level1(cid: str) -> str | None:
        code = firms[cid].shenwan
        return code[:2] if code else None

    for chain, prefixes in SECTORS.items():
        names = "/".join(sw_names.get(p + "0000", p) for p in prefixes)
        rows = placed[chain]
        text = {cid for cid, ps in rows.items() if any(p.textual for p in ps)}
        strict = {cid for cid, ps in rows.items()
                  if any(p.text_only_confidence >= PLACE_THRESHOLD for p in ps)}
        print(f"\n-- chain '{chain}' vs Shenwan {names} ({'/'.join(prefixes)}) --")
        print(f"firms placed in the chain: {len(rows)}; with text evidence: {len(text)}; "
              f"text evidence alone >= {PLACE_THRESHOLD}: {len(strict)}")
        sector = [cid for cid in firms if level1(cid) in prefixes]
        with_products = [cid for cid in sector if firms[cid].products]
        for label, group in ((f"all {len(sector)} sector firms", sector),
                             (f"{len(with_products)} sector firms with products",
                              with_products)):
            print(f"  of {label}: placed (any evidence) "
                  f"{share(sum(c in rows for c in group), len(group))} | with text evidence "
                  f"{share(sum(c in text for c in group), len(group))} | by text alone "
                  f"{share(sum(c in strict for c in group), len(group))}")
        if len(prefixes) > 1:
            for p in prefixes:
                sub = [c for c in with_products if level1(c) == p]
                print(f"    {sw_names.get(p + '0000', p)} ({p}), with products: text evidence"
                      f" {share(sum(c in text for c in sub), len(sub))}, by text alone "
                      f"{share(sum(c in strict for c in sub), len(sub))}")
        for label, group_set in (("with text evidence", text), ("by text alone", strict)):
            by_sector = Counter(level1(c) for c in group_set)
            inside = sum(n for p, n in by_sector.items() if p in prefixes)
            others = ", ".join(f"{sw_names.get(p + '0000', 'none') if p else 'no Shenwan'} {n}"
                               for p, n in by_sector.most_common() if p not in prefixes)
            print(f"  reverse: of firms placed {label}, Shenwan level-1 in sector: "
                  f"{share(inside, len(group_set))}; others: {others}")

        missed = sorted((c for c in with_products if c not in text),
                        key=lambda c: -(info[c][1] or 0))
        print(f"\n  top {top} sector firms with products NOT placed by text evidence "
              f"(largest registered capital first; {len(missed)} in all):")
        for c in missed[:top]:
            code = firms[c].shenwan or ""
            via = ",".join(sorted({p.node_id for p in rows.get(c, [])})) or "-"
            products = "; ".join(f"{n} {s:.0%}" for n, s in firms[c].products[:4])
            print(f"    {info[c][0]} [{sw_names.get(code, code)}] shenwan-placed: {via} | "
                  f"{products}")

        outside = [c for c in text if level1(c) not in prefixes]

        strength = {c: max(p.signals.get("products", 0.0) for p in rows[c]) for c in outside}
        outside.sort(key=lambda c: (-strength[c], -(info[c][1] or 0)))
        print(f"\n  top {top} firms placed by text evidence from OTHER sectors (strongest "
              f"product signal first; {len(outside)} in all):")
        for c in outside[:top]:
            code = firms[c].shenwan or ""
            best = max(rows[c], key=lambda p: p.signals.get("products", 0.0))
            matched = "; ".join(f"{m['product']} {m['share']:.0%} <{','.join(m['keywords'])}>"
                                for m in best.evidence.get("products", [])[:3])
            print(f"    {info[c][0]} [{sw_names.get(code, code) or 'no Shenwan'}] -> "
                  f"{node_names.get((chain, best.node_id), best.node_id)} "
                  f"(conf {best.confidence:.2f}) | {matched}")


def main() -> None:
    """Run both evaluations and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_store_args(parser)
    parser.add_argument("--top", type=int, default=15, help="disagreements to list")
    args = parser.parse_args()
    start = time.perf_counter()
    with open_store(args.db, args.mirror, args.rebuild) as db:
        evaluate_shenwan(db)
        evaluate_chains(db, args.top)
    print(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
