"""Writes of the triage app."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from config.celery_app import publish
from feedback.models import Feedback

from .models import ItemAssignment

# Feedback younger than this is probably still in the broker; older without an assignment
# was missed (broker down at ingest, worker lost) and is re-enqueued by the sweeper.
FOLLOWUP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500


def feedback_process(*, feedback_ids: list[int]) -> int:
    """Record new feedback in triage; idempotent (already processed items are skipped).
    Returns how many items were processed by this call."""
    existing = set(
        ItemAssignment.objects.filter(feedback_id__in=feedback_ids).values_list(
            "feedback_id", flat=True
        )
    )
    todo = list(
        Feedback.objects.filter(id__in=set(feedback_ids) - existing).values_list("id", flat=True)
    )
    with transaction.atomic():
        ItemAssignment.objects.bulk_create(
            [ItemAssignment(feedback_id=feedback_id) for feedback_id in todo],
            ignore_conflicts=True,
        )
    return len(todo)


def followup_sweep(*, older_than: timedelta = FOLLOWUP_GRACE, limit: int = 50_000) -> int:
    """Re-enqueue feedback whose follow-up never ran. Returns how many ids were published."""
    cutoff = timezone.now() - older_than
    ids = list(
        Feedback.objects.filter(received_at__lt=cutoff, assignment__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for start in range(0, len(ids), SWEEP_BATCH):
        publish("triage.feedback_process", ids[start : start + SWEEP_BATCH])
    return len(ids)
