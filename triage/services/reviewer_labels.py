"""Reviewers' verdicts on predictions nobody reported: a true label, or skipped. Taken in
batches like ingest (valid items stored, the others rejected by index with the field at
fault), idempotent per prediction and reviewer; a prediction with a verdict leaves the queue
at once. The labelling page takes one verdict at a time from a member and can undo the last."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from feedback.models import Prediction, Project
from feedback.validation import (
    EMPTY,
    ITEM_NOT_OBJECT,
    NOT_A_STRING,
    NOT_IN_LABEL_SET,
    NUL_BYTE,
    REQUIRED,
    TOO_LONG,
    UNKNOWN_PREDICTION,
)

from ..models import ErrorCategory, ReviewerLabel, ReviewQueueEntry
from ..models.review_queue import CLAIM_DURATION
from .true_size import true_size_update

MAX_REVIEWER = 150


@dataclass
class LabelsResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)

    def as_response(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def _text(item: dict, name: str, errors: dict, *, max_length: int, required: bool = True):
    value = item.get(name)
    if value is None:
        if required:
            errors[name] = [gettext(REQUIRED)]
        return None
    if type(value) is not str:
        errors[name] = [gettext(NOT_A_STRING)]
    elif required and not value.strip():
        errors[name] = [gettext(EMPTY)]
    elif len(value) > max_length:
        errors[name] = [gettext(TOO_LONG).format(limit=max_length)]
    elif "\x00" in value:
        errors[name] = [gettext(NUL_BYTE)]
    else:
        return value
    return None


def reviewer_labels_add(
    *, project: Project, items: list, category: ErrorCategory | None = None
) -> LabelsResult:
    """Store each item `{"request_id", "label", "reviewer"}` (`label` "" or null: skipped).
    A second verdict of the same reviewer on the same prediction is a duplicate (the first
    stands); unknown request ids and labels outside the project's label set are rejected."""
    result = LabelsResult()
    checked: list[tuple[int, dict, dict]] = []
    for index, item in enumerate(items):
        errors: dict = {}
        if type(item) is not dict:
            result.rejected.append({"index": index, "errors": {"item": [gettext(ITEM_NOT_OBJECT)]}})
            continue
        values = {
            "request_id": _text(item, "request_id", errors, max_length=200),
            "reviewer": _text(item, "reviewer", errors, max_length=MAX_REVIEWER),
            "label": _text(item, "label", errors, max_length=200, required=False) or "",
        }
        label = values["label"]
        if label and project.has_label_set and label not in project.labels:
            errors["label"] = [gettext(NOT_IN_LABEL_SET).format(value=label)]
        checked.append((index, values, errors))
    wanted = {values["request_id"] for _, values, errors in checked if not errors}
    predictions = dict(
        Prediction.objects.filter(project=project, request_id__in=wanted).values_list(
            "request_id", "id"
        )
    )
    rows: list[tuple[int, ReviewerLabel]] = []
    for index, values, errors in checked:
        if not errors and values["request_id"] not in predictions:
            errors["request_id"] = [gettext(UNKNOWN_PREDICTION)]
        if errors:
            result.rejected.append(
                {"index": index, "request_id": values["request_id"], "errors": errors}
            )
            continue
        rows.append(
            (
                index,
                ReviewerLabel(
                    project=project,
                    prediction_id=predictions[values["request_id"]],
                    reviewer=values["reviewer"],
                    label=values["label"],
                    category=category,
                ),
            )
        )
    prediction_ids = [row.prediction_id for _, row in rows]
    if category is None:  # from the API: the queue it was taken from, its best entry's
        queued = dict(
            ReviewQueueEntry.objects.filter(prediction_id__in=prediction_ids)
            .order_by("prediction_id", "score")
            .values_list("prediction_id", "category_id")
        )
        for _, row in rows:
            row.category_id = queued.get(row.prediction_id)
    existing = set(
        ReviewerLabel.objects.filter(prediction_id__in=prediction_ids).values_list(
            "prediction_id", "reviewer"
        )
    )
    new: list[ReviewerLabel] = []
    for _, row in rows:
        key = (row.prediction_id, row.reviewer)
        if key in existing:
            result.duplicates += 1  # the first verdict of a reviewer stands
            continue
        existing.add(key)
        new.append(row)
    with transaction.atomic():
        ReviewerLabel.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
        # Out of the queue at once (the queue skips labelled predictions), claims let go.
        ReviewQueueEntry.objects.filter(prediction_id__in=prediction_ids).update(
            claimed_by=None, claimed_until=None
        )
    result.accepted = len(new)
    if touched := sorted({row.category_id for row in new if row.category_id is not None}):
        true_size_update(project=project, category_ids=touched)
    return result


UNDO_WINDOW = timedelta(minutes=30)


def reviewer_label_record(
    *, project: Project, user, request_id: str, label: str, category: ErrorCategory | None
) -> LabelsResult:
    """A member's verdict from the labelling page (`label` "" skips)."""
    return reviewer_labels_add(
        project=project,
        items=[{"request_id": request_id, "label": label, "reviewer": user.get_username()}],
        category=category,
    )


def reviewer_label_undo(*, project: Project, user) -> ReviewerLabel | None:
    """Take back the member's last verdict of the last UNDO_WINDOW: the prediction goes back
    to the queue. Returns the verdict taken back, or None."""
    last = (
        ReviewerLabel.objects.filter(
            project=project,
            reviewer=user.get_username(),
            created_at__gte=timezone.now() - UNDO_WINDOW,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None:
        return None
    with transaction.atomic():
        last.delete()
        # Back in front of its reviewer: their claim moves to the item taken back.
        ReviewQueueEntry.objects.filter(project=project, claimed_by=user).update(
            claimed_by=None, claimed_until=None
        )
        entry = (
            ReviewQueueEntry.objects.filter(prediction_id=last.prediction_id)
            .order_by("-score")
            .first()
        )
        if entry is not None:
            ReviewQueueEntry.objects.filter(id=entry.id).update(
                claimed_by=user, claimed_until=timezone.now() + CLAIM_DURATION
            )
    if last.category_id is not None:
        true_size_update(project=project, category_ids=[last.category_id])
    return last
