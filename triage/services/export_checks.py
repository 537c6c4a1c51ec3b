"""The likely-wrong-corrections check of an export: load what triage/exports/checks.py needs,
run it, return the flagged predictions.

It reads the export's corrections once before the file is written (the neighbours of a
correction can be anywhere in the export), so its memory grows with the export: about the
text and labels of each corrected prediction plus their TF-IDF vectors. Exports that do not
ask for the check (flagged handling "ignore", the API's default) skip it and stay streamed.
"""

from dataclasses import dataclass

from feedback.models import Feedback

from ..exports import resolve as resolution
from ..models import DatasetExport
from ..selectors_exports import confidence_by_label, export_check_rows, recent_uncorrected

# Uncorrected predictions whose (model) answers vote as neighbours, and how much each vote
# counts against a correction's: measured on the Banking77 replay (BENCHMARKS.md).
OTHERS = 20_000
OTHER_WEIGHT = 0.5


@dataclass(frozen=True)
class Flags:
    flagged: frozenset[int]  # prediction ids whose resolved correction is likely wrong
    checked: int  # resolved corrections the check looked at


def _resolved(export: DatasetExport):
    """(prediction_id, text, predicted, resolved label, scores) of each prediction the export
    would write (same resolution as the build: dismissed corrections out, conflicts and
    corrections that agree with the prediction skipped)."""
    current, labels = None, []
    for row in export_check_rows(export=export):
        if current is not None and row[0] != current[0]:
            yield current, labels
            labels = []
        current = row
        if row[2] != Feedback.TriageState.NOT_AN_ERROR:
            labels.append(row[1])
    if current is not None:
        yield current, labels


def export_flags(*, export: DatasetExport) -> Flags:
    """Run the check over the export's resolved corrections. Deterministic for a given
    export (its as_of fixes the rows, the neighbour sample is seeded)."""
    ids, texts, predicted, corrected, p_pred, p_corr = [], [], [], [], [], []
    for row, labels in _resolved(export):
        if not labels:
            continue
        outcome = resolution.resolve(labels, export.resolution)
        if outcome.label is None or outcome.label == row[4]:
            continue
        scores = row[5] if isinstance(row[5], dict) else {}
        ids.append(row[0])
        texts.append(row[3] or "")
        predicted.append(row[4])
        corrected.append(outcome.label)
        p_pred.append(_score(scores, row[4]))
        p_corr.append(_score(scores, outcome.label))
    if not ids:
        return Flags(frozenset(), 0)
    # Imported here: scikit-learn and SciPy cost ~150 MB that exports without the check
    # (and the web process) should not pay.
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from ..exports import checks

    thresholds = {
        label: float(mean)
        for label, mean, _ in confidence_by_label(project=export.project, as_of=export.as_of)
    }
    others = recent_uncorrected(project=export.project, as_of=export.as_of, limit=OTHERS)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
    vectorizer.fit(texts + [text for text, _ in others])
    support_c, support_p = checks.neighbour_support(
        vectorizer.transform(texts),
        corrected,
        predicted,
        others=vectorizer.transform([text for text, _ in others]) if others else None,
        other_labels=[label for _, label in others],
        other_weight=OTHER_WEIGHT,
    )
    result = checks.check_corrections(
        predicted=predicted,
        corrected=corrected,
        p_predicted=p_pred,
        p_corrected=p_corr,
        thresholds=thresholds,
        support_corrected=support_c,
        support_predicted=support_p,
    )
    flagged = frozenset(int(i) for i, f in zip(ids, result.flagged, strict=True) if f)
    return Flags(flagged, len(ids))


def _score(scores: dict, label: str) -> float:
    value = scores.get(label)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
