"""Keeping each category's estimated true size (review_queue/true_size.py) on its row: the
look-alike counts come from each review-queue refresh, the reviewed and found counts from the
verdicts on its queue, updated as reviewers give them."""

from django.db.models import Exists, OuterRef

from feedback.models import Feedback, Project

from ..models import ErrorCategory, ReviewerLabel
from ..review_queue.true_size import true_size


def _queue_verdicts(project: Project, category_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(reviewed, found wrong) per category: each prediction's latest verdict with a label,
    given on the category's queue (predictions no customer corrected)."""
    corrected = Feedback.objects.filter(prediction_id=OuterRef("prediction_id"), kind="correction")
    rows = (
        ReviewerLabel.objects.filter(project=project, category_id__in=category_ids)
        .exclude(label="")
        .exclude(Exists(corrected))
        .order_by("created_at", "id")
        .values_list("category_id", "prediction_id", "label", "prediction__predicted_label")
    )
    latest = {(c, p): label != predicted for c, p, label, predicted in rows}
    counts: dict[int, tuple[int, int]] = {}
    for (category_id, _), wrong in latest.items():
        reviewed, found = counts.get(category_id, (0, 0))
        counts[category_id] = (reviewed + 1, found + wrong)
    return counts


def true_size_update(
    *,
    project: Project,
    category_ids: list[int],
    lookalikes: dict[int, tuple[int, int]] | None = None,
) -> None:
    """Recompute the estimate of these categories; `lookalikes` (category -> (look-alikes,
    candidates scanned)) from a refresh, else the counts the last refresh stored."""
    categories = list(ErrorCategory.objects.filter(project=project, id__in=category_ids))
    verdicts = _queue_verdicts(project, [c.id for c in categories])
    for category in categories:
        stored = category.true_size or {}
        found_like, scanned = (lookalikes or {}).get(
            category.id, (stored.get("lookalikes", 0), stored.get("scanned", 0))
        )
        reviewed, found = verdicts.get(category.id, (0, 0))
        size = true_size(lookalikes=found_like, scanned=scanned, reviewed=reviewed, found=found)
        category.true_size = size.as_json()
        category.estimated_unreported = size.estimate
    ErrorCategory.objects.bulk_update(categories, ["true_size", "estimated_unreported"])
