"""Likely-wrong corrections: a confident-learning style check before corrections become
training data. Pure: arrays in, flags out (no ORM).

A careless customer "corrects" an answer that was right, usually to a plausible neighbour of
it. Two pieces of evidence speak against a correction:

1. The model's own scores (cleanlab's confident joint). Each class k gets a threshold t_k, the
   mean confidence of the model's predictions of k (its typical self-confidence for that
   class). A prediction the model made with p(predicted) >= t_predicted, whose corrected label
   scored below its own threshold t_corrected, lies off the confident joint's diagonal: the
   model is confidently sure of its answer and not of the customer's.
2. Corrections of similar inputs: among the k nearest corrected inputs (cosine over TF-IDF
   or stored embeddings), the similarity-weighted votes for the corrected label against the
   votes for the predicted one. Similar queries corrected *to the predicted label* say the
   model's answer is what customers mean; similar queries corrected to the same label back
   the correction.

A correction is flagged when the model evidence is against it and its neighbours do not
back it (support for the corrected label <= support for the predicted one). Requiring both
keeps good corrections of a confidently wrong model (the ones retraining needs most) from
being flagged when similar inputs were corrected the same way. Figures on the Banking77
replay are in BENCHMARKS.md ("Likely-wrong corrections").
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .tfidf import normalize

# Neighbours per correction: enough to outvote one odd neighbour, few enough to stay local.
K_NEIGHBOURS = 10
# Cells of the similarity matrix computed at once (rows x pool): it and its temporaries
# (indexes, masks) take ~20 bytes a cell, so ~5 MB whatever the pool's size.
SIMILARITY_CELLS = 250_000
# The neighbour search compares each correction with every input of the pool: its cost is
# corrections x pool. The pool holds every correction and uncorrected answer up to MAX_POOL;
# beyond that a seeded sample, smaller as the export grows so that corrections x pool stays
# near WORK_BUDGET (about a minute here, BENCHMARKS.md), but never below MIN_POOL inputs.
MAX_POOL = 50_000
MIN_POOL = 5_000
WORK_BUDGET = 5_000_000_000


@dataclass(frozen=True)
class CheckResult:
    flagged: np.ndarray  # bool, one per correction
    model_against: np.ndarray  # bool: the confident-joint condition
    support_corrected: np.ndarray  # float: neighbours' weighted votes for the corrected label
    support_predicted: np.ndarray  # float: ... for the predicted label


@dataclass(frozen=True)
class Pool:
    """The labelled inputs a correction's neighbours are searched among: corrections (their
    corrected label, weight 1) and uncorrected answers (the model's label, a lower weight)."""

    vectors_t: object  # features x pool, columns of unit length (sparse or dense)
    labels: np.ndarray  # object: the label each input votes for
    weights: np.ndarray  # float: how much its vote counts
    ids: np.ndarray  # int: the correction each input is (its prediction id), -1 for others


def pool_size(corrections: int) -> int:
    """How many inputs the neighbour pool may hold for an export of `corrections`."""
    return max(MIN_POOL, min(MAX_POOL, WORK_BUDGET // max(1, corrections)))


def make_pool(vectors, labels, weights, ids) -> Pool:
    vectors = normalize(vectors)
    vectors_t = vectors.T.tocsr() if sparse.issparse(vectors) else np.ascontiguousarray(vectors.T)
    return Pool(
        vectors_t,
        np.asarray(labels, dtype=object),
        np.asarray(weights, dtype=float),
        np.asarray(ids, dtype=np.int64),
    )


def class_thresholds(labels, confidences) -> dict[str, float]:
    """Per-class threshold: the mean confidence of the model's predictions of each class
    (cleanlab's t_j with the model's answers as the given labels). NaN confidences are
    ignored."""
    labels = np.asarray(labels, dtype=object)
    confidences = np.asarray(confidences, dtype=float)
    thresholds = {}
    keep = ~np.isnan(confidences)
    for label in np.unique(labels[keep]):
        thresholds[str(label)] = float(confidences[keep & (labels == label)].mean())
    return thresholds


def neighbour_support(
    vectors, ids, corrected, predicted, *, pool: Pool, k: int = K_NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray]:
    """For each correction i (its input's vector, its id): the weighted cosine similarity of
    its k nearest neighbours in the pool whose label is corrected[i], and of those whose
    label is predicted[i]. A correction is not its own neighbour (same id in the pool)."""
    corrected = np.asarray(corrected, dtype=object)
    predicted = np.asarray(predicted, dtype=object)
    ids = np.asarray(ids, dtype=np.int64)
    n = len(corrected)
    support_c, support_p = np.zeros(n), np.zeros(n)
    k = min(k, len(pool.labels) - 1)
    if k < 1 or n == 0:
        return support_c, support_p
    vectors = normalize(vectors)
    chunk = max(1, SIMILARITY_CELLS // len(pool.labels))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        similarity = vectors[start:stop] @ pool.vectors_t
        similarity = similarity.toarray() if sparse.issparse(similarity) else np.asarray(similarity)
        rows, own = np.nonzero(pool.ids[None, :] == ids[start:stop, None])
        similarity[rows, own] = -np.inf
        nearest = np.argpartition(similarity, -k, axis=1)[:, -k:]
        weights = np.take_along_axis(similarity, nearest, axis=1).clip(min=0)
        weights = weights * pool.weights[nearest]
        labels = pool.labels[nearest]
        support_c[start:stop] = (weights * (labels == corrected[start:stop, None])).sum(axis=1)
        support_p[start:stop] = (weights * (labels == predicted[start:stop, None])).sum(axis=1)
    return support_c, support_p


def model_against(*, predicted, corrected, p_predicted, p_corrected, thresholds) -> np.ndarray:
    """The confident-joint condition per correction: the model was sure of its answer and
    not of the customer's. Scores the model did not report (outside its top-k) count as 0; a
    class without a threshold (never predicted) has threshold 0 for the corrected side and 1
    for the predicted side, so it never counts against a correction."""
    p_predicted = np.nan_to_num(np.asarray(p_predicted, dtype=float))
    p_corrected = np.nan_to_num(np.asarray(p_corrected, dtype=float))
    t_predicted = np.array([thresholds.get(str(label), 1.0) for label in predicted])
    t_corrected = np.array([thresholds.get(str(label), 0.0) for label in corrected])
    return (p_predicted >= t_predicted) & (p_corrected < t_corrected)


def check_corrections(
    *,
    predicted,
    corrected,
    p_predicted,
    p_corrected,
    thresholds: dict[str, float],
    support_corrected,
    support_predicted,
) -> CheckResult:
    """Flag the corrections that are likely wrong (see the module docstring)."""
    against = model_against(
        predicted=predicted,
        corrected=corrected,
        p_predicted=p_predicted,
        p_corrected=p_corrected,
        thresholds=thresholds,
    )
    support_corrected = np.asarray(support_corrected, dtype=float)
    support_predicted = np.asarray(support_predicted, dtype=float)
    flagged = against & (support_corrected <= support_predicted)
    return CheckResult(flagged, against, support_corrected, support_predicted)
