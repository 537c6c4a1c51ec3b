"""Retention of the prediction log: predictions without feedback are deleted once they are
older than the project's `prediction_retention_days`; predictions with feedback stay as long
as their feedback.

What keeps the quality pages unchanged is the order of things:

1. Only predictions the rollups have already counted are deleted: ids the rollup cursor has
   scanned twice (`prediction_id_before`), in hours before the project's oldest dirty hour.
2. Before deleting, the sweep raises the project's `predictions_swept_before` mark; a recount
   of an hour before the mark keeps the prediction figures the hour's rollup already has and
   recounts only feedback (dashboards/services/rollup_counts.py). The mark is written under
   the same row lock a recount takes, so no recount can straddle it.
3. Deletion goes in small batches by primary key, each its own short transaction, and each
   statement checks again that the prediction has no feedback: feedback that arrives between
   the selection and the delete keeps its prediction.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from dashboards.models import RollupCursor, RollupDirtyHour
from feedback.models import Feedback, Prediction, Project

logger = logging.getLogger(__name__)

# Rows per DELETE: each a short transaction that holds its row locks for milliseconds.
BATCH = 2000
# A sweep stops starting batches after this long (the task's soft time limit is above it);
# what is left is deleted by the next sweep.
TIME_BUDGET_SECONDS = 240


@dataclass
class SweepResult:
    deleted: int = 0
    batches: int = 0
    # project slug -> the time before which its predictions without feedback are now gone
    swept_before: dict[str, datetime] = field(default_factory=dict)
    finished: bool = True


def retention_limit(project: Project, now: datetime) -> datetime | None:
    """The time before which this project's predictions without feedback may be deleted now,
    or None: no retention set, or the rollups have not counted anything yet."""
    if project.prediction_retention_days is None:
        return None
    cutoff = now - timedelta(days=project.prediction_retention_days)
    limit = cutoff.replace(minute=0, second=0, microsecond=0)
    oldest_dirty = RollupDirtyHour.objects.filter(project=project).aggregate(oldest=Min("hour"))
    if oldest_dirty["oldest"] is not None:
        limit = min(limit, oldest_dirty["oldest"])
    return limit


def _raise_mark(project: Project, limit: datetime) -> None:
    with transaction.atomic():
        locked = Project.objects.select_for_update(no_key=True).get(id=project.id)
        if locked.predictions_swept_before is None or locked.predictions_swept_before < limit:
            locked.predictions_swept_before = limit
            locked.save(update_fields=["predictions_swept_before"])


def _delete_batch(ids: list[int]) -> int:
    """Delete these predictions unless they have feedback by now; returns how many went."""
    prediction = connection.ops.quote_name(Prediction._meta.db_table)
    feedback = connection.ops.quote_name(Feedback._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    # Plain SQL, not QuerySet.delete(): the ORM would cascade to feedback that arrived
    # meanwhile, where this statement leaves such a prediction in place.
    sql = (
        f"DELETE FROM {prediction} WHERE id IN ({marks}) AND NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {feedback} f WHERE f.prediction_id = {prediction}.id)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, ids)
        return cursor.rowcount


def retention_sweep(
    *, now: datetime | None = None, batch: int = BATCH, time_budget: float = TIME_BUDGET_SECONDS
) -> SweepResult:
    """Delete the predictions without feedback that every project's retention lets go, oldest
    first, until done or out of time. Idempotent; safe beside ingest, rollups and itself."""
    now = now or timezone.now()
    deadline = time.monotonic() + time_budget
    result = SweepResult()
    cursor = RollupCursor.objects.filter(name="default").first()
    counted_upto = cursor.prediction_id_before if cursor is not None else 0
    for project in Project.objects.filter(prediction_retention_days__isnull=False):
        limit = retention_limit(project, now)
        if limit is None or counted_upto == 0:
            continue
        _raise_mark(project, limit)
        without_feedback = ~Exists(Feedback.objects.filter(prediction_id=OuterRef("id")))
        candidates = Prediction.objects.filter(
            project=project, served_at__lt=limit, id__lte=counted_upto
        ).filter(without_feedback)
        failures = 0
        while True:
            if time.monotonic() > deadline:
                result.finished = False
                return result
            ids = list(candidates.order_by("served_at").values_list("id", flat=True)[:batch])
            if not ids:
                break
            try:
                deleted = _delete_batch(ids)
            except DatabaseError:  # feedback committed meanwhile tripped its foreign key
                failures += 1
                logger.warning("retention: a batch of %s met new feedback", project)
                if failures >= 3:
                    break  # the next sweep tries again
                continue
            result.deleted += deleted
            result.batches += 1
            if deleted == 0:  # every candidate got feedback meanwhile; look again next sweep
                break
        result.swept_before[project.slug] = limit
    if result.deleted:
        logger.info(
            "retention: %s predictions deleted in %s batches", result.deleted, result.batches
        )
    return result
