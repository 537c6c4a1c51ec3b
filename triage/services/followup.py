"""Derived work on new feedback: its vector and, when close enough, its category."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.publish import publish
from feedback.models import Feedback

from ..models import ItemAssignment
from .placement import place_new_items

# Feedback younger than this is probably still in the broker; older without an assignment
# was missed (broker down at ingest, worker lost) and is re-enqueued by the sweeper.
FOLLOWUP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500


def feedback_process(*, feedback_ids: list[int]) -> int:
    """Embed new feedback and place it in the nearest category of the latest run when close
    enough (otherwise it waits for the next run). Idempotent: items already processed are
    skipped. Returns how many items this call processed."""
    done = set(
        ItemAssignment.objects.filter(feedback_id__in=feedback_ids).values_list(
            "feedback_id", flat=True
        )
    )
    todo = list(
        Feedback.objects.filter(id__in=set(feedback_ids) - done)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not todo:
        return 0
    placements = place_new_items(feedback_ids=todo)
    with transaction.atomic():
        created = ItemAssignment.objects.bulk_create(
            [
                ItemAssignment(
                    feedback_id=feedback_id,
                    category_id=placements.get(feedback_id, (None, None))[0],
                    similarity=placements.get(feedback_id, (None, 0.0))[1],
                )
                for feedback_id in todo
            ],
            ignore_conflicts=True,
        )
        placed = [fid for fid, (category_id, _) in placements.items() if category_id]
        if placed:
            Feedback.objects.filter(id__in=placed, triage_state=Feedback.TriageState.NEW).update(
                triage_state=Feedback.TriageState.CATEGORIZED
            )
    return len(created)


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
