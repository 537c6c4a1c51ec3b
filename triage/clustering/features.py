"""An item's vector: its text vector plus what a reviewer reads from the labels.

The corrected label says what the customer actually wanted, the prediction's scores what the
model hesitated between (a wrong answer's runner-up is often the right one). Both are
appended to the text vector with modest weights, so text still decides between items that
carry no label.
"""

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.preprocessing import normalize

W_CORRECTED = 0.5
W_SCORES = 0.3
# The category an item was in before: a weak prior that keeps runs from reshuffling items
# over tiny changes in the corpus (on the replay it removed nearly all run-to-run churn of
# the LSA representation without changing its agreement with the true intents).
W_PREVIOUS = 0.35


def label_space(labels: Sequence[str], observed: Sequence[str]) -> list[str]:
    """The project's label set, extended with any label seen in the data, in a fixed order."""
    return sorted(set(labels) | {label for label in observed if label})


def combine(
    text_vectors: np.ndarray,
    *,
    corrected: Sequence[str],
    scores: Sequence[Mapping[str, float] | None],
    labels: Sequence[str],
    previous: Sequence[int | None] = (),
    previous_space: Sequence[int] = (),
) -> np.ndarray:
    """Text vector | corrected label | scores | previous category, weighted, L2-normalised.
    `previous_space` fixes the order of the previous-category block (so vectors of a later
    call line up with a run's centroids)."""
    n = len(corrected)
    index = {label: i for i, label in enumerate(labels)}
    corrected_part = np.zeros((n, len(labels)), dtype=np.float32)
    scores_part = np.zeros((n, len(labels)), dtype=np.float32)
    for row in range(n):
        if corrected[row] in index:
            corrected_part[row, index[corrected[row]]] = 1.0
        for label, value in (scores[row] or {}).items():
            if label in index:
                scores_part[row, index[label]] = value
    scores_part = normalize(scores_part)
    previous_index = {category: i for i, category in enumerate(previous_space)}
    previous_part = np.zeros((n, len(previous_space)), dtype=np.float32)
    for row, category in enumerate(previous):
        if category in previous_index:
            previous_part[row, previous_index[category]] = 1.0
    if text_vectors.shape[0] != n:
        raise ValueError("one text vector per item")
    combined = np.hstack(
        [
            text_vectors,
            W_CORRECTED * corrected_part,
            W_SCORES * scores_part,
            W_PREVIOUS * previous_part,
        ]
    )
    return normalize(combined).astype(np.float32)
