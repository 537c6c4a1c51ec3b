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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

NEIGHBOURS = 3
CHUNK = 20_000


@dataclass(frozen=True)
class Weights:
    """On the clustered Banking77 replay (LSA), the 300 best of the whole queue were wrong
    31 % of the time with these weights, against 9 % of all unreported predictions; 24 % with
    similarity weighing most (0.5, 0.3, 0.2), 31 % with uncertainty alone (whose per-category
    queues are then all the same few predictions)."""

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
        for start in range(0, n, chunk):
            rows = np.arange(start, min(start + chunk, n))
            rows = rows[mask[rows]]
            if not len(rows):
                continue
            similar = _similarity(vectors[rows], errors)
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
        best[category.category_id] = kept
    return [Ranked(category.category_id, *best[category.category_id]) for category in categories]
