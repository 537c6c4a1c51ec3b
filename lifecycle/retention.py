"""Retention of the prediction log: predictions without feedback are deleted once they are
older than the project's `prediction_retention_days`; predictions with feedback stay as long
as their feedback, and so do predictions a reviewer labelled (triage's review queue).

What keeps the quality pages unchanged is the order of things:

1. Only predictions the rollups have already counted are deleted: ids the rollup cursor has
   scanned twice (`prediction_id_before`), in hours before the project's oldest dirty hour.
2. Before deleting, the sweep raises the project's `predictions_swept_before` mark; a recount
   of an hour before the mark keeps the prediction figures the hour's rollup already has and
   recounts only feedback (dashboards/services/rollup_counts.py). The mark is written under
   the same row lock a recount takes, so no recount can straddle it.
3. Deletion goes in batches, oldest first, each one statement in its own short transaction.
   Feedback that arrives for a prediction while its batch runs is found by a check before
   the batch commits (feedback ingest holds its predictions until it commits, so the DELETE
   waits for it), and the batch is undone and retried: no feedback loses its prediction.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from dashboards.models import RollupCursor, RollupDirtyHour
from feedback.models import Feedback, Prediction, Project
from triage.models import ReviewerLabel

logger = logging.getLogger(__name__)

# Rows per DELETE: each a short transaction holding its row locks for about 0.1 s (measured:
# BENCHMARKS.md).
BATCH = 10_000
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


class FeedbackArrived(Exception):
    """Feedback for a prediction of the batch committed while the batch ran: undo, retry."""


@dataclass
class _Batch:
    deleted: int
    # The latest served_at deleted: the next batch starts there, not at the oldest row again
    # (it would walk past every row with feedback and every dead index entry behind it).
    reached: object = None


def _delete_next(
    *, project_id: int, after, before: datetime, counted_upto: int, batch: int
) -> _Batch:
    """Delete the oldest `batch` predictions of the project served from `after` (when given) to
    before `before`, counted by the rollups and without feedback, in one statement."""
    prediction = connection.ops.quote_name(Prediction._meta.db_table)
    feedback = connection.ops.quote_name(Feedback._meta.db_table)
    reviewed = connection.ops.quote_name(ReviewerLabel._meta.db_table)
    oldest = (
        f"SELECT p.{{key}} FROM {prediction} p "  # noqa: S608
        "WHERE p.project_id = %s AND p.served_at < %s AND p.id <= %s "
        f"{'AND p.served_at >= %s ' if after is not None else ''}AND NOT EXISTS "
        f"(SELECT 1 FROM {feedback} f WHERE f.prediction_id = p.id) "
        # A reviewer's label is kept with its prediction, like feedback (training data).
        f"AND NOT EXISTS (SELECT 1 FROM {reviewed} r WHERE r.prediction_id = p.id) "
        "ORDER BY p.served_at LIMIT %s"
    )
    params = [project_id, before, counted_upto, *([after] if after is not None else []), batch]
    # One statement, not QuerySet.delete(): one round trip per batch, and the ORM would cascade
    # to feedback that arrived meanwhile. On PostgreSQL the rows are found by their physical
    # address (ctid), not by id: an `id IN (...)` join made the planner scan the whole table.
    # What went comes back as one row of figures: 10,000 rows of ids and timestamps took longer
    # to read than the DELETE took to run. (SQLite cannot DELETE inside WITH: rows there.)
    if connection.vendor == "postgresql":
        sql = (
            f"WITH gone AS (DELETE FROM {prediction} "  # noqa: S608
            f"WHERE ctid = ANY(ARRAY({oldest.format(key='ctid')})) RETURNING id, served_at) "
            "SELECT count(*), min(id), max(id), max(served_at) FROM gone"
        )
    else:
        sql = f"DELETE FROM {prediction} WHERE id IN ({oldest.format(key='id')}) RETURNING id, served_at"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            deleted, lowest, highest, reached = cursor.fetchone()
        else:
            gone = cursor.fetchall()
            deleted = len(gone)
            lowest, highest = (
                min((i for i, _ in gone), default=0),
                max((i for i, _ in gone), default=0),
            )
            reached = max((served for _, served in gone), default=None)
        # Feedback ingest holds its predictions until it commits, so the DELETE waited for any
        # such commit; this later statement sees that feedback, and the batch is undone.
        if deleted and _feedback_lost_its_prediction(cursor, lowest, highest):
            raise FeedbackArrived("feedback arrived for a prediction of the batch")
        return _Batch(deleted=deleted, reached=reached)


def _feedback_lost_its_prediction(cursor, lowest: int, highest: int) -> bool:
    """Whether feedback about a prediction id in [lowest, highest] has no prediction any more,
    as this transaction sees it: in the batch's id range, only the batch's rows are gone.
    Two numbers, not the 10,000 ids: sending them cost as much as the DELETE."""
    prediction = connection.ops.quote_name(Prediction._meta.db_table)
    feedback = connection.ops.quote_name(Feedback._meta.db_table)
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {feedback} f WHERE f.prediction_id BETWEEN %s AND %s "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {prediction} p WHERE p.id = f.prediction_id))",
        [lowest, highest],
    )
    return bool(cursor.fetchone()[0])


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
        failures, reached = 0, None
        while True:
            if time.monotonic() > deadline:
                result.finished = False
                return result
            try:
                done = _delete_next(
                    project_id=project.id,
                    after=reached,
                    before=limit,
                    counted_upto=counted_upto,
                    batch=batch,
                )
            except (FeedbackArrived, DatabaseError):  # new feedback, or a deadlock with ingest
                failures += 1
                logger.warning("retention: a batch of %s met new feedback", project)
                if failures >= 3:
                    break  # the next sweep tries again
                continue
            if done.deleted == 0:
                break
            result.deleted += done.deleted
            result.batches += 1
            reached = done.reached
        result.swept_before[project.slug] = limit
    if result.deleted:
        logger.info(
            "retention: %s predictions deleted in %s batches", result.deleted, result.batches
        )
    return result
