"""Reading the review queue (`services/review_queue.py` writes it): the best entries of a
category or of the whole project, with the labels a reviewer would likely pick."""

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from feedback.models import Project

from .models import ErrorCategory, ReviewQueueEntry
from .models.review_queue import CLAIM_DURATION

SUGGESTED_LABELS = 5
# The project-wide queue reads this many entries per wanted one: a prediction may be queued
# for several categories and is shown once, at its best.
OVERREAD = 3


def suggested_labels(
    category: ErrorCategory, predicted_label: str, neighbour_labels: Sequence[str] = ()
) -> list[str]:
    """The labels a reviewer would likely pick, most likely first: those the nearest corrected
    errors point to (`ReviewQueueEntry.neighbour_labels`), the ones the category's
    corrections also turned this predicted label into first; then what the category's
    corrections turned this predicted label into, most often first; then the category's other
    corrected labels. Each once, never the predicted label itself."""
    confusions = sorted(category.top_confusions or [], key=lambda pair: -(pair.get("count") or 0))
    from_predicted = [p["corrected"] for p in confusions if p.get("predicted") == predicted_label]
    others = [p["corrected"] for p in confusions if p.get("predicted") != predicted_label]
    agreed = [label for label in neighbour_labels if label in from_predicted]
    ordered = agreed + list(neighbour_labels) + from_predicted + others
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
        _open_entries(project)
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
                "suggested_labels": suggested_labels(
                    entry.category, prediction.predicted_label, entry.neighbour_labels
                ),
            }
        )
        if len(rows) == limit:
            break
    return rows


def _open_entries(project: Project):
    """Entries whose prediction no reviewer has labelled or skipped yet."""
    return ReviewQueueEntry.objects.filter(project=project).exclude(
        prediction__reviewer_labels__isnull=False
    )


def review_queue_categories(*, project: Project):
    """The project's categories with a queue, by title (ids and titles only): an index probe
    per category, never a pass over every entry."""
    return (
        ErrorCategory.objects.filter(project=project, merged_into__isnull=True)
        .filter(Exists(ReviewQueueEntry.objects.filter(category_id=OuterRef("pk"))))
        .only("id", "title")
        .order_by("title", "id")
    )


def review_queue_remaining(*, project: Project, category_id: int | None = None) -> int:
    entries = _open_entries(project)
    if category_id is not None:
        entries = entries.filter(category_id=category_id)
    return entries.values("prediction_id").distinct().count()


def review_queue_claim(
    *, project: Project, user, category_id: int | None = None
) -> ReviewQueueEntry | None:
    """The next item for this reviewer on the labelling page, claimed for CLAIM_DURATION: the one they
    already hold, else the best one nobody holds (another reviewer's claim on any entry of the
    same prediction keeps it from them)."""
    now = timezone.now()
    with transaction.atomic():
        entries = _open_entries(project)
        if category_id is not None:
            entries = entries.filter(category_id=category_id)
        held_elsewhere = ReviewQueueEntry.objects.filter(
            project=project, claimed_until__gt=now
        ).exclude(claimed_by=user)
        entry = (
            entries.filter(claimed_by=user, claimed_until__gt=now)
            .order_by("-score", "prediction_id")
            .first()
        )
        if entry is None:
            entry = (
                entries.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
                .exclude(prediction_id__in=held_elsewhere.values("prediction_id"))
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("-score", "prediction_id")
                .first()
            )
        if entry is None:
            return None
        ReviewQueueEntry.objects.filter(project=project, claimed_by=user).exclude(
            id=entry.id
        ).update(claimed_by=None, claimed_until=None)  # one item at a time
        ReviewQueueEntry.objects.filter(id=entry.id).update(
            claimed_by=user, claimed_until=now + CLAIM_DURATION
        )
    return (
        ReviewQueueEntry.objects.select_related("prediction", "category")
        .filter(id=entry.id)
        .first()
    )
