"""The likely-wrong-corrections check of an export (triage/exports/checks.py), in bounded
memory: prepared once before the file is written, then asked batch by batch while it is.

Preparing reads the export's resolved corrections once, keeping only a seeded sample of
them (ids and labels, then their texts): with the latest uncorrected answers they make the
neighbour pool, which fits the TF-IDF vectoriser and keeps its vectors. A batch's flags then
depend on the pool only, so the build scores each batch of corrections as it writes them;
memory is the pool plus one batch whatever the export's size. Exports that do not ask for
the check (flagged handling "ignore", the API's default) skip it.
"""

import random
from typing import NamedTuple

import orjson

from feedback.models import Feedback

from ..exports import resolve as resolution
from ..models import DatasetExport
from ..selectors_exports import (
    confidence_by_label,
    export_correction_labels,
    prediction_texts,
    recent_uncorrected,
    stream_chunks,
)

# Uncorrected predictions whose (model) answers vote as neighbours, and how much each vote
# counts against a correction's: measured on the Banking77 replay (BENCHMARKS.md).
OTHERS = 20_000
OTHER_WEIGHT = 0.5
# The seed of the pool's samples: the same export always gets the same flags.
SEED = 0


class CheckedCorrection(NamedTuple):
    """A resolved correction as the check weighs it."""

    prediction_id: int
    input_text: str
    predicted_label: str
    resolved_label: str
    scores: object  # the model's scores for the prediction (JSON)


class CorrectionCheck:
    """Flags for batches of an export's resolved corrections. Build it with prepare()."""

    def __init__(self, *, thresholds: dict[str, float], vectorizer, pool):
        self.thresholds, self.vectorizer, self.pool = thresholds, vectorizer, pool
        self.checked = 0  # corrections scored so far

    def flags(self, batch: list[CheckedCorrection]) -> list[bool]:
        """One verdict per correction. Only the corrections the model's scores speak against
        need their neighbours (the others cannot be flagged)."""
        import numpy as np

        from ..exports import checks

        self.checked += len(batch)
        predicted = [row.predicted_label for row in batch]
        corrected = [row.resolved_label for row in batch]
        scores = [scores_parse(row.scores) for row in batch]
        p_predicted = [label_score(s, label) for s, label in zip(scores, predicted, strict=True)]
        p_corrected = [label_score(s, label) for s, label in zip(scores, corrected, strict=True)]
        against = checks.model_against(
            predicted=predicted,
            corrected=corrected,
            p_predicted=p_predicted,
            p_corrected=p_corrected,
            thresholds=self.thresholds,
        )
        suspects = np.flatnonzero(against)
        flagged = np.zeros(len(batch), dtype=bool)
        if not len(suspects):
            return flagged.tolist()

        def pick(values: list) -> list:
            return [values[i] for i in suspects]

        if self.pool is None:  # no neighbours back them, nor the model's answers
            support_c = support_p = np.zeros(len(suspects))
        else:
            support_c, support_p = checks.neighbour_support(
                self.vectorizer.transform([batch[i].input_text or "" for i in suspects]),
                [batch[i].prediction_id for i in suspects],
                pick(corrected),
                pick(predicted),
                pool=self.pool,
            )
        flagged[suspects] = checks.check_corrections(
            predicted=pick(predicted),
            corrected=pick(corrected),
            p_predicted=pick(p_predicted),
            p_corrected=pick(p_corrected),
            thresholds=self.thresholds,
            support_corrected=support_c,
            support_predicted=support_p,
        ).flagged
        return flagged.tolist()


def prepare(*, export: DatasetExport) -> CorrectionCheck:
    """Thresholds, neighbour pool and vectoriser of the export's check. Deterministic for a
    given export (its as_of fixes the rows, the samples are seeded)."""
    # Imported here: scipy.sparse costs ~20 MB that exports without the check (and the web
    # process) need not pay. Not scikit-learn (~150 MB more): exports/tfidf.py computes the
    # same vectors.
    import numpy as np

    from ..exports import checks
    from ..exports.tfidf import Tfidf

    # Rounded: PostgreSQL adds up a parallel AVG in any order, so its last bits vary between
    # runs, and a confidence equal to its class's mean (a model that answers 0.55 every time)
    # was then above its threshold in one build and below it in the next.
    thresholds = {
        label: round(float(mean), 9)
        for label, mean, _ in confidence_by_label(project=export.project, as_of=export.as_of)
    }
    sample, total = _sample_corrections(export, capacity=checks.MAX_POOL)
    others = recent_uncorrected(project=export.project, as_of=export.as_of, limit=OTHERS)
    size = checks.pool_size(total)
    rng = np.random.default_rng(SEED)
    if total + len(others) > size:
        # Corrections and answers keep their share of the pool.
        keep_corrections = min(len(sample), round(size * total / (total + len(others))))
        sample = [sample[i] for i in sorted(rng.permutation(len(sample))[:keep_corrections])]
        others = [others[i] for i in sorted(rng.permutation(len(others))[: size - len(sample)])]
    texts = prediction_texts(ids=[prediction_id for prediction_id, _ in sample])
    pool_texts = [texts.get(prediction_id, "") for prediction_id, _ in sample]
    pool_texts += [text for text, _ in others]
    vectorizer = Tfidf()  # word unigrams and bigrams, sublinear tf, float32
    try:
        vectors = vectorizer.fit_transform(pool_texts)
    except ValueError:  # not one word in the pool: no neighbour evidence either way
        return CorrectionCheck(thresholds=thresholds, vectorizer=None, pool=None)
    pool = checks.make_pool(
        vectors,
        [label for _, label in sample] + [label for _, label in others],
        [1.0] * len(sample) + [OTHER_WEIGHT] * len(others),
        [prediction_id for prediction_id, _ in sample] + [-1] * len(others),
    )
    return CorrectionCheck(thresholds=thresholds, vectorizer=vectorizer, pool=pool)


def _sample_corrections(export: DatasetExport, *, capacity: int):
    """A uniform seeded sample (reservoir) of up to `capacity` of the export's resolved
    corrections, as (prediction_id, resolved label), and how many there are. Resolved as the
    build does: dismissed corrections out, conflicts and corrections that agree with the
    prediction skipped."""
    rng = random.Random(SEED)
    sample: list[tuple[int, str]] = []
    seen = 0

    def add(prediction_id, predicted, labels) -> None:
        nonlocal seen
        if not labels:
            return
        label = (
            labels[0] if len(labels) == 1 else resolution.resolve(labels, export.resolution).label
        )
        if label is None or label == predicted:
            return
        if seen < capacity:
            sample.append((prediction_id, label))
        elif (slot := rng.randrange(seen + 1)) < capacity:
            sample[slot] = (prediction_id, label)
        seen += 1

    dismissed = Feedback.TriageState.NOT_AN_ERROR.value
    current, predicted, labels = None, None, []
    for chunk in stream_chunks(export_correction_labels(export=export)):
        for prediction_id, label, state, predicted_label in chunk:
            if prediction_id != current:
                add(current, predicted, labels)
                current, predicted, labels = prediction_id, predicted_label, []
            if state != dismissed:
                labels.append(label)
    add(current, predicted, labels)
    return sample, seen


def scores_parse(value) -> dict:
    if isinstance(value, str | bytes):  # a JSON column read as text
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def label_score(scores: dict, label: str) -> float:
    value = scores.get(label)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
