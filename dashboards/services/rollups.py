"""Hourly rollups of online metrics, kept current incrementally and idempotently.

A pass has two steps:

1. **mark**: find the hours touched since the last passes - predictions and feedback with ids
   past the cursor's watermarks (primary-key range scans), feedback superseded since - and
   record them as `RollupDirtyHour` rows;
2. **recompute**: for each dirty (project, hour), recount that hour from the raw tables with
   grouped queries and replace its rollup rows, then fold its day's (and week's) rows; the
   dirty hours of one project's day share a transaction (bounded in time) and one fold.

Recomputing, never incrementing, is what makes it idempotent: running an hour twice gives the
same rows, and a pass that dies leaves dirty marks that the next pass picks up. Feedback is
counted under the hour its prediction was served in, so late feedback re-dirties that hour.

This module runs the passes and writes; what a row holds is counted in `rollup_counts.py`.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from feedback.models import Feedback, Prediction, Project

from ..models import (
    MetricRollup,
    MetricRollupDay,
    MetricRollupWeek,
    RollupCursor,
    RollupDirtyHour,
)
from .rollup_counts import DAY_SOURCE_FIELDS, rollup_day_fold, rollup_hour_compute

logger = logging.getLogger(__name__)

# A pass stops taking new hours after this long, under the task's soft time limit (300 s);
# what is left stays marked for the next pass.
PASS_TIME_BUDGET_SECONDS = 200
# The claim outlives the task's hard time limit (360 s), so a killed pass frees it by itself.
CLAIM_SECONDS = 420
# A transaction of a pass takes no further hour of its day after this long, so that busy
# hours are recounted one a transaction and a backfill of quiet ones a day at a time.
TRANSACTION_SECONDS = 5.0
# Dirty marks are written in batches of this many rows.
MARK_BATCH = 2000


@dataclass
class PassResult:
    claimed: bool = True
    marked: int = 0
    recomputed: int = 0
    remaining: int = 0


def hour_floor(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def rollup_day_refresh(*, project_id: int, day: datetime, computed_at: datetime) -> int:
    """Rewrite one project's day rows from its hourly rows, then its week's rows from the
    week's daily rows (call inside the transaction that changed an hour of that day). Returns
    the number of hourly rows read."""
    hours = list(
        MetricRollup.objects.filter(
            project_id=project_id, hour__gte=day, hour__lt=day + timedelta(days=1)
        ).values(*DAY_SOURCE_FIELDS)
    )
    MetricRollupDay.objects.filter(project_id=project_id, day=day).delete()
    MetricRollupDay.objects.bulk_create(
        MetricRollupDay(project_id=project_id, day=day, computed_at=computed_at, **row)
        for row in rollup_day_fold(hours)
    )
    week = day - timedelta(days=day.weekday())
    days = list(
        MetricRollupDay.objects.filter(
            project_id=project_id, day__gte=week, day__lt=week + timedelta(days=7)
        ).values(*DAY_SOURCE_FIELDS, "active_hours")
    )
    MetricRollupWeek.objects.filter(project_id=project_id, week=week).delete()
    MetricRollupWeek.objects.bulk_create(
        MetricRollupWeek(project_id=project_id, week=week, computed_at=computed_at, **row)
        for row in rollup_day_fold(days)
    )
    return len(hours)


def rollup_hour_refresh(*, project_id: int, hour: datetime) -> int:
    """Recompute one project's hour and replace its rollup rows, then its day's rows (one
    transaction). Idempotent; returns the number of hourly rows written."""
    _, rows = rollup_day_hours_refresh(project_id=project_id, hours=[hour])
    return rows


def rollup_day_hours_refresh(
    *, project_id: int, hours: list[datetime], time_limit: float | None = None
) -> tuple[int, int]:
    """Recompute hours of one project's day in order and replace their rollup rows, then the
    day's (and week's) rows once, in one transaction: a backfill of small hours commits and
    folds the day once a day instead of once an hour. Takes no further hour after
    `time_limit` seconds (the first is always done), so a transaction over busy hours stays
    short. Clears each hour's dirty mark unless it was marked again after the transaction
    started. Returns (hours recomputed, hourly rows written)."""
    started = timezone.now()
    clock = time.monotonic()
    done = written = 0
    with transaction.atomic():
        # Locked against retention's sweep, which raises this mark before it deletes: a
        # recount either sees the new mark or finishes before the deletion starts. (NO KEY
        # UPDATE: ingest's foreign-key checks on the project row are not blocked.)
        swept_before = (
            Project.objects.select_for_update(no_key=True)
            .filter(id=project_id)
            .values_list("predictions_swept_before", flat=True)
            .first()
        )
        for hour in hours:
            if done and time_limit is not None and time.monotonic() - clock > time_limit:
                break
            # Retention may have deleted predictions of an hour before the mark.
            rows = rollup_hour_compute(
                project_id=project_id,
                hour=hour,
                swept=swept_before is not None and hour + timedelta(hours=1) <= swept_before,
            )
            MetricRollup.objects.filter(project_id=project_id, hour=hour).delete()
            MetricRollup.objects.bulk_create(
                [MetricRollup(**row, computed_at=started) for row in rows], batch_size=500
            )
            done, written = done + 1, written + len(rows)
        rollup_day_refresh(project_id=project_id, day=hours[0].replace(hour=0), computed_at=started)
        RollupDirtyHour.objects.filter(
            project_id=project_id, hour__in=hours[:done], marked_at__lte=started
        ).delete()
    return done, written


def rollup_hours_mark(*, marks: set[tuple[int, datetime]]) -> int:
    """Record (project_id, hour) pairs as dirty (upsert: a re-marked hour gets a new
    marked_at). Returns how many were given."""
    now = timezone.now()
    items = sorted(marks)
    for i in range(0, len(items), MARK_BATCH):
        RollupDirtyHour.objects.bulk_create(
            [
                RollupDirtyHour(project_id=project_id, hour=hour, marked_at=now)
                for project_id, hour in items[i : i + MARK_BATCH]
            ],
            update_conflicts=True,
            unique_fields=["project", "hour"],
            update_fields=["marked_at"],
        )
    return len(items)


def _touched_hours(cursor: RollupCursor, now: datetime) -> tuple[set, dict]:
    """(project, hour) pairs touched since the passes before, and the new watermarks."""
    marks: set[tuple[int, datetime]] = set()
    top_prediction = Prediction.objects.aggregate(m=Max("id"))["m"] or 0
    top_feedback = Feedback.objects.aggregate(m=Max("id"))["m"] or 0
    prediction_range = Q(id__gt=cursor.prediction_id_before, id__lte=top_prediction)
    marks.update(
        Prediction.objects.filter(prediction_range)
        .values_list("project_id", TruncHour("served_at"))
        .distinct()
    )
    feedback_changed = Q(id__gt=cursor.feedback_id_before, id__lte=top_feedback)
    if cursor.passed_at_before is not None:
        feedback_changed |= Q(superseded_at__gte=cursor.passed_at_before)
    elif cursor.passed_at is not None:
        feedback_changed |= Q(superseded_at__gte=cursor.passed_at)
    else:
        feedback_changed |= Q(superseded_at__isnull=False)
    changed = Feedback.objects.filter(feedback_changed)
    marks.update(
        changed.filter(prediction__isnull=False)
        .values_list("project_id", TruncHour("prediction__served_at"))
        .distinct()
    )
    marks.update(
        changed.filter(prediction__isnull=True, kind=Feedback.Kind.COMPLAINT)
        .values_list("project_id", TruncHour("created_at"))
        .distinct()
    )
    return marks, {"prediction": top_prediction, "feedback": top_feedback}


def _dirty_days():
    """The dirty hours grouped by (project, day), oldest day first."""
    dirty = sorted(
        RollupDirtyHour.objects.values_list("project_id", "hour"),
        key=lambda mark: (mark[1].date(), mark[0], mark[1]),
    )
    return groupby(dirty, key=lambda mark: (mark[0], mark[1].date()))


def _claim(now: datetime) -> RollupCursor | None:
    cursor, _ = RollupCursor.objects.get_or_create(name="default")
    claimed = (
        RollupCursor.objects.filter(id=cursor.id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    if claimed != 1:
        return None
    cursor.refresh_from_db()
    return cursor


def rollup_pass(*, time_budget: float = PASS_TIME_BUDGET_SECONDS) -> PassResult:
    """One incremental pass over all projects: mark the hours touched since the last passes,
    then recompute dirty hours (oldest first) until the time budget is spent.

    Only one pass runs at a time (a database claim on the cursor); a second caller returns
    at once with `claimed=False`. Safe to run at any moment and any number of times."""
    now = timezone.now()
    cursor = _claim(now)
    if cursor is None:
        return PassResult(claimed=False)
    result = PassResult()
    try:
        marks, tops = _touched_hours(cursor, now)
        with transaction.atomic():
            result.marked = rollup_hours_mark(marks=marks)
            RollupCursor.objects.filter(id=cursor.id).update(
                prediction_id_before=cursor.prediction_id,
                prediction_id=tops["prediction"],
                feedback_id_before=cursor.feedback_id,
                feedback_id=tops["feedback"],
                passed_at_before=cursor.passed_at or now,
                passed_at=now,
            )
        deadline = time.monotonic() + time_budget
        for (project_id, _day), group in _dirty_days():
            hours = [hour for _, hour in group]
            while hours and time.monotonic() <= deadline:
                done, _ = rollup_day_hours_refresh(
                    project_id=project_id, hours=hours, time_limit=TRANSACTION_SECONDS
                )
                result.recomputed += done
                hours = hours[done:]
            if time.monotonic() > deadline:
                break
        result.remaining = RollupDirtyHour.objects.count()
    finally:
        RollupCursor.objects.filter(id=cursor.id).update(claimed_until=None)
    logger.info(
        "rollup pass: %s hours marked, %s recomputed, %s left",
        result.marked,
        result.recomputed,
        result.remaining,
    )
    return result


def rollup_rebuild(
    *, project: Project, since: datetime | None = None, until: datetime | None = None
) -> int:
    """Mark every hour of a project with traffic in [since, until) dirty, so the next passes
    recompute them (after a data repair, or to build rollups for existing history). Hours
    whose data is gone lose their rows when recomputed. Returns the number of hours marked."""
    served = Prediction.objects.filter(project=project)
    existing = MetricRollup.objects.filter(project=project)
    if since:
        served, existing = served.filter(served_at__gte=since), existing.filter(hour__gte=since)
    if until:
        served, existing = served.filter(served_at__lt=until), existing.filter(hour__lt=until)
    hours = set(served.values_list(TruncHour("served_at"), flat=True).distinct())
    hours |= set(existing.values_list("hour", flat=True).distinct())
    complaints = Feedback.objects.filter(
        project=project, prediction__isnull=True, kind=Feedback.Kind.COMPLAINT
    )
    if since:
        complaints = complaints.filter(created_at__gte=since)
    if until:
        complaints = complaints.filter(created_at__lt=until)
    hours |= set(complaints.values_list(TruncHour("created_at"), flat=True).distinct())
    return rollup_hours_mark(marks={(project.id, hour) for hour in hours})
