"""The review queue's ranking: which predictions nobody reported are most likely wrong in the
way an error category's confirmed errors were. Pure: arrays in, scores out (no Django), in the
clustering engine's style; `services/review_queue.py` loads the rows and stores the result.

A candidate's score for a category is a weighted sum of three parts, each in [0, 1]:

- **similarity**: the mean cosine similarity of its input to the category's nearest
  NEIGHBOURS confirmed errors (vectors L2-normalised, from the same representation);
- **uncertainty**: how unsure the model was: half one minus the margin between its two top
  scores, half how far its confidence fell below the usual confidence of the label it
  predicted (`label_confidence_levels`);
- **label**: how much of the category's confusions start from the label it predicted.

The parts are kept with the score: they say why an item was chosen. Candidates are scored in
chunks of `chunk` rows, and only the best `top` of each category are kept, so memory stays
bounded whatever the number of predictions.

`neighbour_labels` says what a queued prediction's label should probably have been: the
corrected labels of its nearest corrected errors (the reviewer's suggested labels).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .true_size import lookalike_level

NEIGHBOURS = 3
CHUNK = 20_000
# Suggested labels: the votes of this many nearest corrected errors, at most this many labels
# kept per prediction. On the clustered Banking77 replay (LSA), the first suggestion of a
# queued wrong answer was its true label 24 % of the time with 30 neighbours (15 % with 5, 20 %
# with 20, 20 % with 50; the category's confusions alone: 2.5 %), and one of five 48 %.
LABEL_NEIGHBOURS = 30
NEIGHBOUR_LABELS = 5
# Similarities computed at once by `neighbour_labels` (rows x pool): about 16 MB of float32 and
# 32 MB for the partition's indices, whatever the size of the pool (20,000 rows against a pool
# of 16,000 errors took 4.4 GB).
SIMILARITY_CELLS = 4_000_000


@dataclass(frozen=True)
class Weights:
    """On the Banking77 replay clustered at its midpoint (LSA, seeds 0-2, benchmarks/
    review_queue.py), the 300 best of the whole queue were wrong 26.9 % of the time with these
    weights, against 12.5 % of all unreported predictions (BENCHMARKS.md). Similarity weighing
    most (0.5, 0.3, 0.2) did worse; uncertainty alone does as well overall, but every
    category's queue is then the same few predictions."""

    similarity: float = 0.3
    uncertainty: float = 0.5
    label: float = 0.2


@dataclass(frozen=True)
class CategoryEvidence:
    """What a category's confirmed errors say: their input vectors (rows, L2-normalised) and
    the predicted labels their confusions start from, with counts."""

    category_id: int
    vectors: np.ndarray
    start_labels: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidates:
    """Predictions without feedback: input vectors (rows, L2-normalised), predicted labels,
    confidences and margins (top score minus the second; NaN when unknown)."""

    vectors: np.ndarray
    predicted: Sequence[str]
    confidence: np.ndarray
    margin: np.ndarray


@dataclass(frozen=True)
class Ranked:
    """One category's best candidates, best first: row indices into the candidates, scores
    and the three parts of each score."""

    category_id: int
    rows: np.ndarray
    scores: np.ndarray
    similarity: np.ndarray
    uncertainty: np.ndarray
    label: np.ndarray
    # Eligible candidates at least as close to the errors as they are to each other
    # (true_size.lookalike_level): the category's unreported look-alikes.
    lookalikes: int = 0


def label_confidence_levels(predicted: Sequence[str], confidence: np.ndarray) -> dict[str, float]:
    """The median confidence of each predicted label: what "sure" means for that label (a
    model is routinely less confident on some classes than on others)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    labels = np.asarray(predicted, dtype=object)
    known = ~np.isnan(confidence)
    levels: dict[str, float] = {}
    for label in set(labels[known].tolist()):
        levels[label] = float(np.median(confidence[known & (labels == label)]))
    return levels


def uncertainty(candidates: Candidates, levels: Mapping[str, float]) -> np.ndarray:
    """Per candidate in [0, 1]: half (1 - margin), half the relative shortfall of its
    confidence below its label's usual level; an unknown half counts as 0.5."""
    margin = np.asarray(candidates.margin, dtype=np.float64)
    confidence = np.asarray(candidates.confidence, dtype=np.float64)
    level = np.asarray([levels.get(label, np.nan) for label in candidates.predicted])
    unsure_margin = np.where(np.isnan(margin), 0.5, 1 - np.clip(margin, 0, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        shortfall = np.clip((level - confidence) / level, 0, 1)
    shortfall = np.where(np.isnan(shortfall), 0.5, shortfall)
    return (unsure_margin + shortfall) / 2


def label_affinity(predicted: Sequence[str], start_labels: Mapping[str, int]) -> np.ndarray:
    """Per candidate in [0, 1]: the share of the category's confusions that start from its
    predicted label, relative to the label they start from most."""
    if not start_labels:
        return np.zeros(len(predicted))
    most = max(start_labels.values())
    return np.asarray([start_labels.get(label, 0) / most for label in predicted], dtype=float)


def _similarity(vectors: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Mean cosine similarity of each row to its NEIGHBOURS nearest errors, in [0, 1]."""
    if not len(errors):
        return np.zeros(len(vectors))
    similarities = vectors @ errors.T
    k = min(NEIGHBOURS, errors.shape[0])
    nearest = np.partition(similarities, -k, axis=1)[:, -k:]
    return np.clip(nearest.mean(axis=1), 0, 1)


def rank(
    candidates: Candidates,
    categories: Sequence[CategoryEvidence],
    *,
    top: int = 1000,
    eligible: np.ndarray | None = None,
    weights: Weights = Weights(),
    chunk: int = CHUNK,
) -> list[Ranked]:
    """Each category's `top` candidates by score, best first (ties by row). `eligible`: a
    boolean mask of the candidates that may be queued (what reviewers labelled or skipped is
    not)."""
    n = len(candidates.predicted)
    vectors = np.asarray(candidates.vectors, dtype=np.float32)
    mask = np.ones(n, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    unsure = uncertainty(
        candidates, label_confidence_levels(candidates.predicted, candidates.confidence)
    )
    best: dict[int, tuple[np.ndarray, ...]] = {}
    for category in categories:
        errors = np.asarray(category.vectors, dtype=np.float32)
        affinity = label_affinity(candidates.predicted, category.start_labels)
        kept = (np.empty(0, dtype=np.int64),) + (np.empty(0),) * 4
        level, lookalikes = lookalike_level(errors, neighbours=NEIGHBOURS), 0
        for start in range(0, n, chunk):
            rows = np.arange(start, min(start + chunk, n))
            rows = rows[mask[rows]]
            if not len(rows):
                continue
            similar = _similarity(vectors[rows], errors)
            lookalikes += int((similar >= level).sum())
            scores = (
                weights.similarity * similar
                + weights.uncertainty * unsure[rows]
                + weights.label * affinity[rows]
            )
            merged = [
                np.concatenate([kept[0], rows]),
                np.concatenate([kept[1], scores]),
                np.concatenate([kept[2], similar]),
                np.concatenate([kept[3], unsure[rows]]),
                np.concatenate([kept[4], affinity[rows]]),
            ]
            order = np.lexsort((merged[0], -merged[1]))[:top]
            kept = tuple(part[order] for part in merged)
        best[category.category_id] = (*kept, lookalikes)
    return [Ranked(category.category_id, *best[category.category_id]) for category in categories]


def neighbour_labels(
    vectors: np.ndarray,
    pool: np.ndarray,
    pool_labels: Sequence[str],
    predicted: Sequence[str],
    *,
    k: int = LABEL_NEIGHBOURS,
    top: int = NEIGHBOUR_LABELS,
    chunk: int = CHUNK,
) -> list[list[str]]:
    """Per row of `vectors`: the corrected labels of its `k` nearest corrected errors (`pool`,
    rows L2-normalised in the same space, with `pool_labels`), by summed cosine similarity,
    most first (ties by label), at most `top`. Never the row's own predicted label (that is
    no correction), an empty label, or a neighbour with no positive similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    pool = np.asarray(pool, dtype=np.float32)
    labels = np.asarray(pool_labels, dtype=object)
    found: list[list[str]] = [[] for _ in range(len(vectors))]
    if not len(vectors) or not len(pool):
        return found
    k = min(k, len(pool))
    chunk = max(1, min(chunk, SIMILARITY_CELLS // len(pool)))
    for start in range(0, len(vectors), chunk):
        similarities = vectors[start : start + chunk] @ pool.T
        nearest = np.argpartition(similarities, -k, axis=1)[:, -k:]
        for offset, columns in enumerate(nearest):
            row = start + offset
            votes: dict[str, float] = {}
            for column in columns.tolist():
                label, similarity = labels[column], float(similarities[offset, column])
                if label and label != predicted[row] and similarity > 0:
                    votes[label] = votes.get(label, 0.0) + similarity
            found[row] = sorted(votes, key=lambda label: (-votes[label], label))[:top]
    return found
