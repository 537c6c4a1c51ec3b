"""Reading the review queue (`services/review_queue.py` writes it): the best entries of a
category or of the whole project, with the labels a reviewer would likely pick."""

from feedback.models import Project

from .models import ErrorCategory, ReviewQueueEntry

SUGGESTED_LABELS = 5
# The project-wide queue reads this many entries per wanted one: a prediction may be queued
# for several categories and is shown once, at its best.
OVERREAD = 3


def suggested_labels(category: ErrorCategory, predicted_label: str) -> list[str]:
    """What the category's corrections turned this predicted label into, most often first,
    then the category's other corrected labels; never the predicted label itself."""
    confusions = sorted(category.top_confusions or [], key=lambda pair: -(pair.get("count") or 0))
    ordered = [p["corrected"] for p in confusions if p.get("predicted") == predicted_label]
    ordered += [p["corrected"] for p in confusions if p.get("predicted") != predicted_label]
    found: list[str] = []
    for label in ordered:
        if label and label != predicted_label and label not in found:
            found.append(label)
    return found[:SUGGESTED_LABELS]


def review_queue_next(
    *, project: Project, category_id: int | None = None, limit: int = 50
) -> list[dict]:
    """The queue's best entries, best first: a category's, or the project's (each prediction
    once, under the category where it scored best)."""
    entries = (
        ReviewQueueEntry.objects.filter(project=project)
        .select_related("prediction", "category")
        .order_by("-score", "prediction_id")
    )
    if category_id is not None:
        entries = entries.filter(category_id=category_id)
    rows, seen = [], set()
    for entry in entries[: limit if category_id is not None else limit * OVERREAD]:
        if entry.prediction_id in seen:
            continue
        seen.add(entry.prediction_id)
        prediction = entry.prediction
        rows.append(
            {
                "request_id": prediction.request_id,
                "input_text": prediction.input_text,
                "predicted_label": prediction.predicted_label,
                "confidence": prediction.confidence,
                "category_id": entry.category_id,
                "score": entry.score,
                "reasons": {
                    "similarity": entry.similarity,
                    "uncertainty": entry.uncertainty,
                    "label": entry.label_affinity,
                },
                "suggested_labels": suggested_labels(entry.category, prediction.predicted_label),
            }
        )
        if len(rows) == limit:
            break
    return rows
