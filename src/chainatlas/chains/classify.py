"""Place every firm on chain nodes, with evidence (see :mod:`chainatlas.chains.signals`).

Rules first: products (revenue-weighted), Shenwan industry, GB/T class and business-scope
keywords. Then a text model trained on the rules' confident placements of listed firms
places firms that have only a business scope (roster firms). Analysts' corrections are
applied on top by the ``firm_nodes`` view and are never touched here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chainatlas.chains.matcher import ChainMatcher
from chainatlas.chains.placements import products_from_evidence
from chainatlas.chains.scope_rules import ScopeReader
from chainatlas.chains.signals import (
    MODEL_MIN_PROBABILITY,
    PLACE_THRESHOLD,
    Evidence,
    gbt_strength,
    merge_product_hits,
    noisy_or,
    shenwan_strength,
)
from chainatlas.chains.templates import ChainTemplate
from chainatlas.chains.textmodel import TextModel, fit_text_model
from chainatlas.store import Database
from chainatlas.store.lookup import chains_changed
from chainatlas.store.query import TRUE, Q, compose, ident, param

# A rule placement this confident, backed by products, is a training label.
TRAIN_MIN_CONFIDENCE = 0.6
#: Registry firms classified at a time (bounded memory for a whole registry).
REGISTRY_BATCH = 100_000


@dataclass
class Firm:
    """What classification reads of one firm."""

    company_id: str
    shenwan: str | None
    gbt: str | None
    scope: str | None
    products: list[tuple[str, float]]
    origin: str = "listed"
    name: str | None = None

    def product_text(self) -> str:
        """The firm's product names as one text (what the model trains on)."""
        return "；".join(name for name, _ in self.products)


def firms_from_db(db: Database, where: Q = TRUE) -> list[Firm]:
    """Read the firms (``where``: a condition on ``companies c``; all by default) with
    their Shenwan code, GB/T code, scope and weighted products.

    Product weights come from the store's ``product_weights`` view (the one home of the
    "missing shares count 1/n" rule); products of weight 0 carry no evidence.
    """
    shenwan = dict(db.execute(compose(
        "SELECT i.company_id, min(i.code) FROM company_industries i JOIN companies c "
        "USING (company_id) WHERE i.scheme = 'sw2021' AND {where} GROUP BY i.company_id",
        where=where)).fetchall())
    products: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for cid, name, weight in db.execute(compose(
            "SELECT w.company_id, p.name, w.w FROM product_weights w "
            "JOIN products p ON p.product_id = w.product_id JOIN companies c "
            "ON c.company_id = w.company_id WHERE w.w > 0 AND {where} "
            # By weight, then name: one fixed order, so the model's training texts (and a
            # model cached beside the store) are the same run to run.
            "ORDER BY w.company_id, w.w DESC, p.name",
            where=where)).fetchall():
        products[cid].append((name, float(weight)))
    return [Firm(cid, shenwan.get(cid), gbt, scope, products.get(cid, []), origin, name)
            for cid, gbt, scope, origin, name in db.execute(compose(
                "SELECT c.company_id, c.industry_gbt, c.business_scope, c.origin, "
                "coalesce(c.full_name, c.short_name) FROM companies c WHERE {where} "
                "ORDER BY c.company_id", where=where)).fetchall()]


def registry_batches(db: Database, size: int = REGISTRY_BATCH) -> Iterator[list[Firm]]:
    """The registry's firms, ``size`` at a time (in company_id order), so that a whole
    registry is classified in bounded memory."""
    ids = [str(r[0]) for r in db.execute(
        "SELECT company_id FROM companies WHERE origin = 'registry' ORDER BY company_id"
    ).fetchall()]
    for start in range(0, len(ids), size):
        last = ids[min(start + size, len(ids)) - 1]
        yield firms_from_db(db, compose(
            "c.origin = 'registry' AND c.company_id BETWEEN {lo} AND {hi}",
            lo=param(ids[start]), hi=param(last)))


def _shenwan_names(db: Database) -> dict[str, str]:
    return dict(db.execute(
        "SELECT code, name FROM industries WHERE scheme = 'sw2021' ORDER BY code").fetchall())


def rule_evidence(template: ChainTemplate, matcher: ChainMatcher, firms: Sequence[Firm],
                  shenwan_names: Mapping[str, str]) -> dict[tuple[str, str], Evidence]:
    """Return (company_id, node_id) -> evidence from the four rule signals."""
    names = {name for firm in firms for name, _ in firm.products}
    product_hits = {name: {h.node_id: list(h.keywords) for h in matcher.match(name)}
                    for name in names}
    coded = [n for n in template.nodes if n.shenwan or n.gbt]
    out: dict[tuple[str, str], Evidence] = {}
    for firm in firms:
        for node_id, rows in merge_product_hits(product_hits, firm.products).items():
            out.setdefault((firm.company_id, node_id), Evidence()).products = rows
        if not (firm.shenwan or firm.gbt):
            continue  # most registry and roster firms carry no industry code
        for node in coded:
            if firm.shenwan and node.shenwan:
                strength, code = shenwan_strength(firm.shenwan, node.shenwan)
                if code:
                    out.setdefault((firm.company_id, node.id), Evidence()).shenwan = {
                        "code": firm.shenwan, "name": shenwan_names.get(firm.shenwan),
                        "matched": code, "strength": strength}
            if firm.gbt and node.gbt:
                strength, code = gbt_strength(firm.gbt, node.gbt)
                if code:
                    out.setdefault((firm.company_id, node.id), Evidence()).gbt = {
                        "code": firm.gbt, "matched": code, "strength": strength}
    return out


def add_scope_evidence(evidence: Mapping[str, dict[tuple[str, str], Evidence]],
                       reader: ScopeReader, firms: Sequence[Firm]) -> None:
    """Add the clause-aware scope signal (:mod:`chainatlas.chains.scope_rules`) of every
    firm with a scope; unlisted firms without one are read from their name. Unlisted
    firms without an industry code also get the GB/T classes their scope names."""
    for firm in firms:
        name = None if firm.origin == "listed" else firm.name
        if not firm.scope and not name:
            continue
        hits, classes = reader.read_with_classes(firm.scope, name)
        for (chain_id, node_id), clause_hits in hits.items():
            if chain_id not in evidence:
                continue
            ev = evidence[chain_id].setdefault((firm.company_id, node_id), Evidence())
            ev.scope_clauses = [h.to_dict() for h in clause_hits]
            ev.scope_keywords = list(dict.fromkeys(w for h in clause_hits for w in h.keywords))
        if name is None or firm.gbt:
            continue  # a coded firm's class is its own code, read by rule_evidence
        for (chain_id, node_id), hit in classes.items():
            if chain_id in evidence:
                evidence[chain_id].setdefault((firm.company_id, node_id),
                                              Evidence()).gbt = hit.to_dict()


def gbt_classes(db: Database) -> list[tuple[str, str, str | None]]:
    """The store's GB/T 4754-2017 classes (code, name, official note), by code: the text
    model's cache key hashes this list, so its order must not follow the rows' order."""
    return [(str(c), str(n), r) for c, n, r in db.execute(
        "SELECT code, name, remark FROM industries WHERE scheme = 'gbt2017' AND level = 4 "
        "ORDER BY code").fetchall()]


def training_labels(evidence: Mapping[tuple[str, str], Evidence],
                    chain_id: str) -> dict[str, list[str]]:
    """company_id -> confident, product-backed ``chain:node`` labels (training targets)."""
    labels: dict[str, list[str]] = defaultdict(list)
    for (cid, node_id), ev in evidence.items():
        if ev.products and ev.confidence() >= TRAIN_MIN_CONFIDENCE:
            labels[cid].append(f"{chain_id}:{node_id}")
    return labels


def train_model(firms: Sequence[Firm], labels: Mapping[str, list[str]],
                seed: int = 0) -> TextModel | None:
    """Fit the text model on every firm with products (unlabelled firms are negatives)."""
    with_products = [f for f in firms if f.products]
    return fit_text_model([f.product_text() for f in with_products],
                          [labels.get(f.company_id, []) for f in with_products], seed)


class ScopeClassifier:
    """Place firms known only by free text (a business scope) on every chain's nodes.

    Combines the scope-keyword rule (one automaton for all chains) and the text model
    exactly as a full classification run does for roster firms; usable on batches.
    """

    def __init__(self, templates: Mapping[str, ChainTemplate], model: TextModel | None) -> None:
        self.reader = ScopeReader(templates)
        self.model = model
        self._model_keys: list[tuple[str, str]] | None = None

    def evidence(self, texts: Sequence[str]) -> list[dict[tuple[str, str], Evidence]]:
        """Per text: (chain_id, node_id) -> evidence (the model only where rules found none)."""
        out = [{key: Evidence(scope_keywords=list(dict.fromkeys(
                    w for h in hits for w in h.keywords)),
                              scope_clauses=[h.to_dict() for h in hits])
                for key, hits in self.reader.read(text).items()} for text in texts]
        fallback = [i for i, found in enumerate(out)
                    if not any(ev.confidence() >= PLACE_THRESHOLD for ev in found.values())]
        if self.model is not None and fallback:
            best = self.model.top_labels([texts[i] for i in fallback])
            for i, labels in zip(fallback, best, strict=True):
                for label, probability in labels:
                    cid, node_id = label.split(":", 1)
                    out[i].setdefault((cid, node_id), Evidence()).model_probability = probability
        return out

    def classify(self, texts: Sequence[str]) -> list[list[tuple[str, str, float]]]:
        """Per text: the (chain_id, node_id, confidence) placements above the threshold.

        The same confidences as :meth:`evidence` gives, without building evidence objects
        (this is the bulk path: tens of thousands of scopes a second).
        """
        scopes = [self.reader.read(text) for text in texts]
        out = [[(cid, nid, s) for (cid, nid), hits in found.items()
                if (s := round(noisy_or(h.strength for h in hits), 4)) >= PLACE_THRESHOLD]
               for found in scopes]
        # The model is the fallback for scopes the keyword rules cannot place.
        fallback = [i for i, placed in enumerate(out) if not placed]
        if self.model is not None and fallback:
            proba = self.model.predict_proba([texts[i] for i in fallback])
            keys = self.model_keys
            for r, c in zip(*np.nonzero(proba >= MODEL_MIN_PROBABILITY), strict=True):
                confidence = round(0.7 * float(proba[r, c]), 4)
                if confidence >= PLACE_THRESHOLD:
                    out[fallback[r]].append((*keys[c], confidence))
        return out

    @property
    def model_keys(self) -> list[tuple[str, str]]:
        """The model's labels as (chain_id, node_id)."""
        if self.model is None:
            return []
        if self._model_keys is None:
            self._model_keys = [(chain, node) for chain, _, node in
                                (lab.partition(":") for lab in self.model.labels)]
        return self._model_keys


def firm_evidence(db: Database, templates: Mapping[str, ChainTemplate], firms: Sequence[Firm],
                  shenwan_names: Mapping[str, str],
                  progress: Callable[[str], None] | None = None,
                  reader: ScopeReader | None = None
                  ) -> dict[str, dict[tuple[str, str], Evidence]]:
    """chain_id -> (company_id, node_id) -> the rule evidence of ``firms``: products,
    Shenwan, GB/T, the clause-aware scope signal and the GB/T class terms. The one order
    of the rule signals, for a full classification and for a batch of new firms alike
    (one firm's evidence does not depend on the others)."""
    evidence: dict[str, dict[tuple[str, str], Evidence]] = {}
    for chain_id, template in templates.items():
        if progress:
            progress(f"classifying {template.name_zh} ({len(firms):,} firms)")
        evidence[chain_id] = rule_evidence(template, ChainMatcher(template), firms,
                                           shenwan_names)
    add_scope_evidence(evidence, reader or ScopeReader(templates, gbt_classes(db)), firms)
    return evidence


def fold_parents(evidence: dict[tuple[str, str], Evidence], template: ChainTemplate) -> None:
    """Give every node a firm is placed on by its own evidence the confidence of its
    placements on the node's ancestors (the ``parent`` signal): the Shenwan code that puts
    以岭药业 on 中药 also backs its 中成药 products, so the deepest node wins."""
    own = {key: ev.confidence() for key, ev in evidence.items()}
    for (cid, node_id), ev in evidence.items():
        if own[(cid, node_id)] < PLACE_THRESHOLD:
            continue
        above = [own[(cid, a)] for a in template.tree.ancestors(node_id)
                 if own.get((cid, a), 0.0) >= PLACE_THRESHOLD]
        if above:
            ev.parent = round(noisy_or(above), 4)


def placements_from_evidence(evidence: Mapping[tuple[str, str], Evidence], chain_id: str,
                             now: dt.datetime) -> pd.DataFrame:
    """Keep the placements at or above the threshold, as rows for ``placements``."""
    rows = []
    # In key order, not the order signals were found in: two runs store the same rows.
    for (cid, node_id), ev in sorted(evidence.items(), key=lambda item: item[0]):
        confidence = ev.confidence()
        if confidence >= PLACE_THRESHOLD:
            rows.append((cid, chain_id, node_id, confidence, ev.method(),
                         json.dumps(ev.to_dict(), ensure_ascii=False), now))
    return pd.DataFrame(rows, columns=["company_id", "chain_id", "node_id", "confidence",
                                       "method", "evidence", "classified_at"])


def store_templates(db: Database, templates: Mapping[str, ChainTemplate], now: dt.datetime,
                    sha256: Mapping[str, str]) -> None:
    """Replace the stored chains, nodes and edges with ``templates``."""
    chains_changed()
    for table in ("chains", "chain_nodes", "chain_edges"):
        db.execute(compose("DELETE FROM {table}", table=ident(table)))
    for t in templates.values():
        db.execute("INSERT INTO chains VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [t.id, t.name_zh, t.name_en, t.description_zh, t.path,
                    sha256.get(t.id, ""), now])
        db.insert_df("chain_nodes", pd.DataFrame(
            [(t.id, n.id, n.name_zh, n.name_en, n.stage, n.parent, n.level, n.is_leaf, i,
              n.kind) for i, n in enumerate(t.nodes)],
            columns=["chain_id", "node_id", "name_zh", "name_en", "stage", "parent", "level",
                     "is_leaf", "ord", "kind"]))
        db.insert_df("chain_edges", pd.DataFrame(
            [(t.id, e.source, e.target, e.note_zh) for e in t.edges],
            columns=["chain_id", "source", "target", "note_zh"]).drop_duplicates(
                ["source", "target"]))
    chains_changed()


def classify_store(db: Database, templates: Mapping[str, ChainTemplate],
                   sha256: Mapping[str, str] | None = None,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Classify every firm onto every chain and replace ``placements`` and
    ``placement_products``; return counts.

    Listed and roster firms first, all at once (the text model learns from them and
    places the roster firms no rule places); then the registry's firms in batches of
    :data:`REGISTRY_BATCH`, by the rules alone.
    """
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    names = _shenwan_names(db)
    reader = ScopeReader(templates, gbt_classes(db))
    firms = firms_from_db(db, Q("c.origin <> 'registry'"))
    evidence = firm_evidence(db, templates, firms, names, progress, reader)
    model = add_model_evidence(evidence, templates, firms)
    counts: dict[str, dict[str, int]] = {c: {"placements": 0, "firms": 0} for c in templates}
    with db.transaction():
        store_templates(db, templates, now, sha256 or {})
        db.execute("DELETE FROM placements")
        db.execute("DELETE FROM placement_products")
        store_evidence(db, templates, evidence, now, counts)
        del evidence, firms
        for i, batch in enumerate(registry_batches(db)):
            if progress:
                progress(f"classifying registry firms, batch {i + 1} ({len(batch):,} firms)")
            store_evidence(db, templates, firm_evidence(db, templates, batch, names,
                                                        reader=reader), now, counts)
    return dict(counts) | {"model_labels": len(model.labels) if model else 0}


def add_model_evidence(evidence: dict[str, dict[tuple[str, str], Evidence]],
                       templates: Mapping[str, ChainTemplate],
                       firms: Sequence[Firm]) -> TextModel | None:
    """Train the text model on ``firms`` and add its probabilities for the firms that
    need it (:func:`model_fallback`); return the model (None when no firm needs it)."""
    fallback = model_fallback(evidence, firms)
    model = train_model(firms, model_labels(evidence, templates)) if fallback else None
    apply_model(evidence, fallback, model)
    return model


def model_labels(evidence: Mapping[str, Mapping[tuple[str, str], Evidence]],
                 templates: Mapping[str, ChainTemplate]) -> dict[str, list[str]]:
    """company_id -> the confident, product-backed labels the text model learns."""
    labels: dict[str, list[str]] = defaultdict(list)
    for chain_id in templates:
        for cid, rows in training_labels(evidence[chain_id], chain_id).items():
            labels[cid].extend(rows)
    return labels


def model_fallback(evidence: Mapping[str, Mapping[tuple[str, str], Evidence]],
                   firms: Sequence[Firm]) -> list[Firm]:
    """The firms the text model places: a scope, no products, no rule placement anywhere,
    and not from the registry — the model learned listed firms' product lists, and on
    registration scopes it places firms no word of theirs supports (property managers on
    重组蛋白)."""
    placed = {cid for ev in evidence.values() for (cid, _), e in ev.items()
              if e.confidence() >= PLACE_THRESHOLD}
    return [f for f in firms if f.scope and not f.products and f.company_id not in placed
            and f.origin != "registry"]


def apply_model(evidence: dict[str, dict[tuple[str, str], Evidence]],
                fallback: Sequence[Firm], model: TextModel | None) -> None:
    """Add the model's probabilities (p >= 0.5, best three) for the ``fallback`` firms."""
    if model is None or not fallback:
        return
    for firm, best in zip(fallback, model.top_labels([f.scope or "" for f in fallback]),
                          strict=True):
        for label, probability in best:
            chain_id, node_id = label.split(":", 1)
            evidence[chain_id].setdefault((firm.company_id, node_id),
                                          Evidence()).model_probability = probability


def store_evidence(db: Database, templates: Mapping[str, ChainTemplate],
                   evidence: dict[str, dict[tuple[str, str], Evidence]], now: dt.datetime,
                   counts: dict[str, dict[str, int]]) -> None:
    """Fold each node's ancestors in, then insert the placements and their products;
    add to ``counts`` (per chain: placements, placed firms)."""
    for chain_id, template in templates.items():
        fold_parents(evidence[chain_id], template)
        frame = placements_from_evidence(evidence[chain_id], chain_id, now)
        db.insert_df("placements", frame)
        db.insert_df("placement_products", products_from_evidence(evidence[chain_id],
                                                                  chain_id))
        counts[chain_id]["placements"] += len(frame)
        counts[chain_id]["firms"] += int(frame["company_id"].nunique())
