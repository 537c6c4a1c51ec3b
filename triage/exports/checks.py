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
from sklearn.preprocessing import normalize

# Neighbours per correction: enough to outvote one odd neighbour, few enough to stay local.
K_NEIGHBOURS = 10
# Rows of the similarity matrix computed at once (rows x pool floats in memory).
SIMILARITY_CHUNK = 256
# Beyond this many corrections, neighbours are searched in a seeded sample of this size, so
# the check's time grows linearly with the export rather than quadratically.
MAX_POOL = 50_000


@dataclass(frozen=True)
class CheckResult:
    flagged: np.ndarray  # bool, one per correction
    model_against: np.ndarray  # bool: the confident-joint condition
    support_corrected: np.ndarray  # float: neighbours' weighted votes for the corrected label
    support_predicted: np.ndarray  # float: ... for the predicted label


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
    vectors,
    corrected,
    predicted,
    *,
    others=None,
    other_labels=None,
    other_weight: float = 1.0,
    k: int = K_NEIGHBOURS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """For each correction i: the summed cosine similarity of its k nearest neighbours whose
    label is corrected[i], and of those whose label is predicted[i].

    Neighbours are the other corrections (their corrected label) and, when given, `others`:
    vectors of uncorrected predictions with the model's answers as labels (`other_labels`),
    whose votes count `other_weight` times (an answer nobody corrected is weaker evidence
    than a correction). `vectors`/`others`: one row each, sparse or dense, any scale."""
    corrected = np.asarray(corrected, dtype=object)
    predicted = np.asarray(predicted, dtype=object)
    n = len(corrected)
    support_c, support_p = np.zeros(n), np.zeros(n)
    vectors = normalize(vectors)
    pool_vectors, pool_labels, pool_weights = vectors, corrected, np.ones(n)
    pool_index = np.arange(n)  # which correction each pool row is (-1: not a correction)
    if others is not None and others.shape[0]:
        m = others.shape[0]
        stack = sparse.vstack if sparse.issparse(vectors) else np.vstack
        pool_vectors = stack([vectors, normalize(others)])
        pool_labels = np.concatenate([corrected, np.asarray(other_labels, dtype=object)])
        pool_weights = np.concatenate([pool_weights, np.full(m, other_weight)])
        pool_index = np.concatenate([pool_index, np.full(m, -1)])
    if len(pool_labels) > MAX_POOL:
        keep = np.sort(
            np.random.default_rng(seed).choice(len(pool_labels), size=MAX_POOL, replace=False)
        )
        pool_vectors, pool_labels = pool_vectors[keep], pool_labels[keep]
        pool_weights, pool_index = pool_weights[keep], pool_index[keep]
    k = min(k, len(pool_labels) - 1)
    if k < 1:
        return support_c, support_p
    pool_t = pool_vectors.T.tocsr() if sparse.issparse(pool_vectors) else pool_vectors.T
    for start in range(0, n, SIMILARITY_CHUNK):
        stop = min(n, start + SIMILARITY_CHUNK)
        similarity = vectors[start:stop] @ pool_t
        similarity = similarity.toarray() if sparse.issparse(similarity) else np.asarray(similarity)
        # A correction is not its own neighbour.
        rows, own = np.nonzero(pool_index[None, :] == np.arange(start, stop)[:, None])
        similarity[rows, own] = -np.inf
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        weights = np.take_along_axis(similarity, nearest, axis=1).clip(min=0)
        weights = weights * pool_weights[nearest]
        labels = pool_labels[nearest]
        support_c[start:stop] = (weights * (labels == corrected[start:stop, None])).sum(axis=1)
        support_p[start:stop] = (weights * (labels == predicted[start:stop, None])).sum(axis=1)
    return support_c, support_p


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
    """Flag the corrections that are likely wrong (see the module docstring). Scores the
    model did not report (outside its top-k) count as 0; a class without a threshold (never
    predicted) has threshold 0 for the corrected side and 1 for the predicted side, so it
    never counts against a correction."""
    p_predicted = np.nan_to_num(np.asarray(p_predicted, dtype=float))
    p_corrected = np.nan_to_num(np.asarray(p_corrected, dtype=float))
    t_predicted = np.array([thresholds.get(str(label), 1.0) for label in predicted])
    t_corrected = np.array([thresholds.get(str(label), 0.0) for label in corrected])
    model_against = (p_predicted >= t_predicted) & (p_corrected < t_corrected)
    support_corrected = np.asarray(support_corrected, dtype=float)
    support_predicted = np.asarray(support_predicted, dtype=float)
    flagged = model_against & (support_corrected <= support_predicted)
    return CheckResult(flagged, model_against, support_corrected, support_predicted)
