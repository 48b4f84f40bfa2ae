"""A learned text classifier: character n-grams -> chain nodes.

Trained on high-precision rule labels of listed firms (their product names), it places firms
that only have free text — the business scope of a roster firm — on nodes whose keywords the
text does not literally contain. Character n-grams need no word segmentation, which suits
Chinese and keeps prediction fast (a hashing vectoriser has no vocabulary to look up).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

N_FEATURES = 2**18
MIN_EXAMPLES = 3


def vectorizer() -> HashingVectorizer:
    """Character 1-3 grams hashed into 2**18 features (no fitting needed)."""
    return HashingVectorizer(analyzer="char", ngram_range=(1, 3), n_features=N_FEATURES,
                             alternate_sign=False, norm=None, lowercase=False)


@dataclass
class TextModel:
    """A fitted multi-label model over ``chain:node`` labels.

    The one-vs-rest weights are kept as one sparse matrix: a feature never seen in
    training has weight zero, so the matrix stays small and scoring is one sparse product.
    """

    labels: list[str]
    tfidf: TfidfTransformer
    weights: sparse.csr_matrix
    intercepts: npt.NDArray[np.float64]

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Texts -> tf-idf weighted, l2-normalised n-gram vectors."""
        return self.tfidf.transform(vectorizer().transform(texts))

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Probability of each label (columns in :attr:`labels` order) for each text."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        scores = (self.transform(texts) @ self.weights.T).toarray() + self.intercepts
        return np.asarray(1.0 / (1.0 + np.exp(-scores)))

    def top_labels(self, texts: Sequence[str], threshold: float = 0.5,
                   limit: int = 3) -> list[list[tuple[str, float]]]:
        """The labels with probability >= threshold for each text, best first."""
        proba = self.predict_proba(texts)
        out = []
        for row in proba:
            best = np.argsort(-row)[:limit]
            out.append([(self.labels[i], float(row[i])) for i in best if row[i] >= threshold])
        return out


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
    binarizer = MultiLabelBinarizer(classes=keep)
    kept = [[label for label in row if label in counts and counts[label] >= MIN_EXAMPLES]
            for row in labels]
    y = binarizer.fit_transform(kept)
    tfidf = TfidfTransformer(sublinear_tf=True)
    x = tfidf.fit_transform(vectorizer().transform(texts))
    # SGD on the logistic loss: the same model as logistic regression, fitted ~4x faster.
    classifier = OneVsRestClassifier(
        SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=15, tol=None, random_state=seed),
        n_jobs=1)
    classifier.fit(x, y)
    weights = sparse.csr_matrix(np.vstack([e.coef_ for e in classifier.estimators_]))
    intercepts = np.array([float(e.intercept_[0]) for e in classifier.estimators_])
    return TextModel(list(keep), tfidf, weights, intercepts)
