"""A learned text classifier: character n-grams -> chain nodes.

Trained on high-precision rule labels of listed firms (their product names), it places firms
that only have free text — the business scope of a roster firm — on nodes whose keywords the
text does not literally contain. Character 1-3 grams need no word segmentation, which suits
Chinese; they are hashed with vectorised numpy (no vocabulary, ~20 µs per scope) and scored
against dense weights kept only for the hash columns seen in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import joblib
import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

N_FEATURES = 2**18
MIN_EXAMPLES = 3
_MASK = np.uint32(N_FEATURES - 1)
# Odd multipliers of the multiplicative hash, one per n-gram position.
_MULT = (np.uint32(2654435761), np.uint32(2246822519), np.uint32(3266489917))


def ngram_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Counts of hashed character 1-, 2- and 3-grams, one row per text."""
    joined = "\x00".join(texts) + "\x00"
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    ok1 = cp != 0  # NUL separates texts: no n-gram spans two of them
    doc = np.zeros(len(cp), dtype=np.int64)
    doc[1:] = np.cumsum(~ok1[:-1])
    h1 = cp * _MULT[0]
    h2 = h1[:-1] ^ (cp[1:] * _MULT[1])
    h3 = h2[:-1] ^ (cp[2:] * _MULT[2])
    ok2 = ok1[:-1] & ok1[1:]
    ok3 = ok2[:-1] & ok1[2:]
    parts = [((h1 >> 14) & _MASK)[ok1], (((h2 >> 14) ^ np.uint32(0x15555)) & _MASK)[ok2],
             (((h3 >> 14) ^ np.uint32(0x2AAAA)) & _MASK)[ok3]]
    rows = [doc[ok1], doc[:-1][ok2], doc[:-2][ok3]]
    # Each part is already in row order: place it straight into CSR order, no sort.
    counts = [np.bincount(r, minlength=len(texts)) for r in rows]
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts[0] + counts[1] + counts[2], out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    offset = indptr[:-1].copy()
    for part, row, count in zip(parts, rows, counts, strict=True):
        starts = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(count[:-1], out=starts[1:])
        indices[offset[row] + np.arange(len(row)) - starts[row]] = part
        offset += count
    matrix = sparse.csr_matrix((np.ones(len(indices)), indices, indptr),
                               shape=(len(texts), N_FEATURES))
    matrix.sum_duplicates()
    return matrix


@dataclass
class TextModel:
    """A fitted multi-label model over ``chain:node`` labels."""

    labels: list[str]
    tfidf: TfidfTransformer
    remap: npt.NDArray[np.int32]  # hash column -> row of ``weights`` (-1: unseen)
    weights: npt.NDArray[np.float32]  # used columns x labels
    intercepts: npt.NDArray[np.float32]

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Texts -> tf-idf weighted, l2-normalised n-gram vectors."""
        return self.tfidf.transform(ngram_counts(texts))

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Probability of each label (columns in :attr:`labels` order) for each text."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        x = self.transform(texts)
        cols = self.remap[x.indices]
        keep = cols >= 0
        row_of = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        indptr = np.zeros(x.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of[keep], minlength=x.shape[0]), out=indptr[1:])
        used = sparse.csr_matrix((x.data[keep].astype(np.float32), cols[keep], indptr),
                                 shape=(x.shape[0], self.weights.shape[0]))
        scores = np.clip(used @ self.weights + self.intercepts, -30.0, 30.0)
        return np.asarray(1.0 / (1.0 + np.exp(-scores)), dtype=np.float32)

    def top_labels(self, texts: Sequence[str], threshold: float = 0.5,
                   limit: int = 3) -> list[list[tuple[str, float]]]:
        """The labels with probability >= threshold for each text, best first."""
        proba = self.predict_proba(texts)
        out: list[list[tuple[str, float]]] = [[] for _ in range(len(texts))]
        rows, cols = np.nonzero(proba >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            out[r].append((self.labels[c], float(proba[r, c])))
        return [sorted(hits, key=lambda h: -h[1])[:limit] for hits in out]


def fit_text_model(texts: Sequence[str], labels: Sequence[Sequence[str]],
                   seed: int = 0) -> TextModel | None:
    """Fit the model; labels with fewer than MIN_EXAMPLES texts are left out.

    Returns None when there is nothing to learn (fewer than two usable labels).
    """
    counts: dict[str, int] = {}
    for row in labels:
        for label in set(row):
            counts[label] = counts.get(label, 0) + 1
    keep = sorted(label for label, n in counts.items() if n >= MIN_EXAMPLES)
    if len(keep) < 2:
        return None
    y = MultiLabelBinarizer(classes=keep).fit_transform(
        [[label for label in row if label in keep] for row in labels])
    tfidf = TfidfTransformer(sublinear_tf=True)
    wide = tfidf.fit_transform(ngram_counts(texts)).tocsc()
    # Fit on the hash columns the training texts use (a few per cent of 2**18): the same
    # model, but each of the ~150 one-vs-rest fits handles short weight vectors.
    seen = np.flatnonzero(np.diff(wide.indptr))
    x = wide[:, seen].tocsr()
    # Balanced classes: each label has few positives among thousands of firms; without it
    # every probability stays far below 0.5 on texts unlike the training lists.
    classifier = OneVsRestClassifier(
        SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=15, tol=None, random_state=seed,
                      class_weight="balanced"), n_jobs=2)
    # Threads, not processes: the SGD loop releases the GIL, and the data is not copied.
    with joblib.parallel_backend("threading", n_jobs=2):
        classifier.fit(x, y)
    coef = np.vstack([e.coef_[0] for e in classifier.estimators_])
    nonzero = np.flatnonzero(np.any(coef != 0, axis=0))
    used = seen[nonzero]
    remap = np.full(N_FEATURES, -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    intercepts = np.array([e.intercept_[0] for e in classifier.estimators_], dtype=np.float32)
    return TextModel(list(keep), tfidf, remap, coef[:, nonzero].T.astype(np.float32),
                     intercepts)
