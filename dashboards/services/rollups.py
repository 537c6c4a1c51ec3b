"""Hourly rollups of online metrics, kept current incrementally and idempotently.

A pass has two steps:

1. **mark**: find the hours touched since the last passes - predictions and feedback with ids
   past the cursor's watermarks (primary-key range scans), feedback superseded since - and
   record them as `RollupDirtyHour` rows;
2. **recompute**: for each dirty (project, hour), recount that hour from the raw tables with
   grouped queries and replace its rollup rows, in one transaction per hour.

Recomputing, never incrementing, is what makes it idempotent: running an hour twice gives the
same rows, and a pass that dies leaves dirty marks that the next pass picks up. Feedback is
counted under the hour its prediction was served in, so late feedback re-dirties that hour.
"""

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Floor, Greatest, Least, Ln, TruncHour, TruncSecond
from django.utils import timezone

from feedback.models import Feedback, Prediction, Project

from .. import metrics
from ..models import (
    MetricRollup,
    MetricRollupDay,
    MetricRollupWeek,
    RollupCursor,
    RollupDirtyHour,
)
from ..selectors import COUNT_FIELDS

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# A pass stops taking new hours after this long, under the task's soft time limit (300 s);
# what is left stays marked for the next pass.
PASS_TIME_BUDGET_SECONDS = 200
# The claim outlives the task's hard time limit (360 s), so a killed pass frees it by itself.
CLAIM_SECONDS = 420
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


def _confidence_bin():
    # NULL confidence -> NULL bin (not counted in the histogram); 1.0 -> the last bin.
    return Case(
        When(confidence__isnull=True, then=Value(None, output_field=IntegerField())),
        default=Cast(
            Least(
                Floor(F("confidence") * Value(float(metrics.CONFIDENCE_BINS))),
                Value(float(metrics.CONFIDENCE_BINS - 1)),
            ),
            IntegerField(),
        ),
        output_field=IntegerField(),
    )


def _latency_bucket():
    # Same formula as metrics.latency_bucket, computed by the database.
    return Cast(
        Floor(
            Ln(Greatest(F("latency_ms"), Value(metrics.LATENCY_FLOOR_MS)))
            / Value(math.log(metrics.LATENCY_GAMMA), FloatField())
        ),
        IntegerField(),
    )


def _empty_row(project_id: int, version_id: int | None, hour: datetime) -> dict:
    return {
        "project_id": project_id,
        "model_version_id": version_id,
        "hour": hour,
        "predictions": 0,
        "feedback_predictions": 0,
        "corrections": 0,
        "complaints": 0,
        "ratings_up": 0,
        "ratings_down": 0,
        "label_counts": {},
        "corrected_pairs": {},
        "confidence_predictions": [0] * metrics.CONFIDENCE_BINS,
        "confidence_corrections": [0] * metrics.CONFIDENCE_BINS,
        "latency_sketch": {},
        "latency_count": 0,
        "latency_sum_ms": 0.0,
        "peak_per_second": 0,
    }


def rollup_hour_compute(*, project_id: int, hour: datetime) -> list[dict]:
    """The rollup rows of one project and hour, counted from the raw tables (no writes).

    Five grouped queries over the hour's predictions (served_at index) and one over the
    current feedback about them; Python only folds the grouped results."""
    start, end = hour, hour + HOUR
    rows: dict[int | None, dict] = {}

    def row(version_id):
        if version_id not in rows:
            rows[version_id] = _empty_row(project_id, version_id, hour)
        return rows[version_id]

    served = Prediction.objects.filter(
        project_id=project_id, served_at__gte=start, served_at__lt=end
    )
    for version_id, label, conf_bin, n in (
        served.values("model_version_id", "predicted_label", b=_confidence_bin())
        .annotate(n=Count("id"))
        .values_list("model_version_id", "predicted_label", "b", "n")
    ):
        r = row(version_id)
        r["predictions"] += n
        r["label_counts"][label] = r["label_counts"].get(label, 0) + n
        if conf_bin is not None:
            r["confidence_predictions"][conf_bin] += n
    for version_id, bucket, n, total in (
        served.filter(latency_ms__isnull=False)
        .values("model_version_id", b=_latency_bucket())
        .annotate(n=Count("id"), s=Sum("latency_ms"))
        .values_list("model_version_id", "b", "n", "s")
    ):
        r = row(version_id)
        r["latency_sketch"][str(bucket)] = n
        r["latency_count"] += n
        r["latency_sum_ms"] += total or 0.0
    for version_id, n in (
        served.values("model_version_id", s=TruncSecond("served_at"))
        .annotate(n=Count("id"))
        .values_list("model_version_id", "n")
    ):
        r = row(version_id)
        r["peak_per_second"] = max(r["peak_per_second"], n)

    # Current feedback about this hour's predictions. One correction per prediction (the
    # latest) feeds the pairs and the confidence bins.
    corrected: dict[int, tuple] = {}
    with_feedback: dict[int, int] = {}
    for prediction_id, version_id, kind, rating, predicted, corrected_label, confidence in (
        Feedback.objects.filter(
            project_id=project_id,
            # The prediction's project too: it lets PostgreSQL use the (project, served_at)
            # index for the hour instead of scanning every project's predictions of the hour.
            prediction__project_id=project_id,
            prediction__served_at__gte=start,
            prediction__served_at__lt=end,
            superseded_at__isnull=True,
        )
        .order_by("id")
        .values_list(
            "prediction_id",
            "prediction__model_version_id",
            "kind",
            "rating",
            "prediction__predicted_label",
            "corrected_label",
            "prediction__confidence",
        )
    ):
        with_feedback[prediction_id] = version_id
        r = row(version_id)
        if kind == Feedback.Kind.CORRECTION:
            corrected[prediction_id] = (version_id, predicted, corrected_label, confidence)
        elif kind == Feedback.Kind.COMPLAINT:
            r["complaints"] += 1
        elif kind == Feedback.Kind.RATING:
            if rating == 1:
                r["ratings_up"] += 1
            elif rating == -1:
                r["ratings_down"] += 1
    for version_id in with_feedback.values():
        row(version_id)["feedback_predictions"] += 1
    for version_id, predicted, corrected_label, confidence in corrected.values():
        r = row(version_id)
        r["corrections"] += 1
        pairs = r["corrected_pairs"].setdefault(predicted, {})
        pairs[corrected_label] = pairs.get(corrected_label, 0) + 1
        if confidence is not None:
            r["confidence_corrections"][metrics.confidence_bin(confidence)] += 1

    unlinked = Feedback.objects.filter(
        project_id=project_id,
        prediction__isnull=True,
        kind=Feedback.Kind.COMPLAINT,
        created_at__gte=start,
        created_at__lt=end,
        superseded_at__isnull=True,
    ).count()
    if unlinked:
        row(None)["complaints"] = unlinked
    return list(rows.values())


# The fields a longer span adds up as they are: the counts, and the latency sums.
SUMMED = (*COUNT_FIELDS, "latency_count", "latency_sum_ms")


def rollup_day_fold(hour_rows: list[dict]) -> list[dict]:
    """Rows of a longer span (RollupSums fields without project and span start) from the
    hourly rows of one day, or the daily rows of one week: counts and histograms added, the
    busiest second kept, active hours counted."""
    days: dict = {}
    for row in hour_rows:
        version_id = row["model_version_id"]
        if version_id not in days:
            days[version_id] = {
                **{name: 0 for name in SUMMED},
                "model_version_id": version_id,
                "label_counts": {},
                "corrected_pairs": {},
                "confidence_predictions": [0] * metrics.CONFIDENCE_BINS,
                "confidence_corrections": [0] * metrics.CONFIDENCE_BINS,
                "latency_sketch": {},
                "peak_per_second": 0,
                "active_hours": 0,
            }
        day = days[version_id]
        for name in SUMMED:
            day[name] += row[name] or 0
        for label, n in (row["label_counts"] or {}).items():
            day["label_counts"][label] = day["label_counts"].get(label, 0) + n
        for predicted, corrected in (row["corrected_pairs"] or {}).items():
            pairs = day["corrected_pairs"].setdefault(predicted, {})
            for label, n in corrected.items():
                pairs[label] = pairs.get(label, 0) + n
        for name in ("confidence_predictions", "confidence_corrections"):
            for i, n in enumerate((row[name] or [])[: metrics.CONFIDENCE_BINS]):
                day[name][i] += n
        for bucket, n in (row["latency_sketch"] or {}).items():
            day["latency_sketch"][bucket] = day["latency_sketch"].get(bucket, 0) + n
        day["peak_per_second"] = max(day["peak_per_second"], row["peak_per_second"] or 0)
        # Day rows carry their active hours; an hourly row is one hour, active if it served.
        day["active_hours"] += row.get("active_hours", 1 if row["predictions"] else 0)
    return list(days.values())


DAY_SOURCE_FIELDS = [
    "model_version_id",
    *SUMMED,
    "label_counts",
    "corrected_pairs",
    "confidence_predictions",
    "confidence_corrections",
    "latency_sketch",
    "peak_per_second",
]


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
    transaction). Clears the hour's dirty mark unless it was marked again after the recount
    started. Idempotent; returns the number of hourly rows written."""
    started = timezone.now()
    with transaction.atomic():
        rows = rollup_hour_compute(project_id=project_id, hour=hour)
        MetricRollup.objects.filter(project_id=project_id, hour=hour).delete()
        MetricRollup.objects.bulk_create(
            [MetricRollup(**row, computed_at=started) for row in rows], batch_size=500
        )
        rollup_day_refresh(project_id=project_id, day=hour.replace(hour=0), computed_at=started)
        RollupDirtyHour.objects.filter(
            project_id=project_id, hour=hour, marked_at__lte=started
        ).delete()
    return len(rows)


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
        for project_id, hour in RollupDirtyHour.objects.order_by("hour", "project_id").values_list(
            "project_id", "hour"
        ):
            if time.monotonic() > deadline:
                break
            rollup_hour_refresh(project_id=project_id, hour=hour)
            result.recomputed += 1
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
