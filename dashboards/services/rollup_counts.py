"""What a rollup row holds, counted: one project's hour recounted from the raw tables with
grouped queries, and the rows of a day (or week) folded from the rows under it. No writes:
`rollups.py` runs the passes and replaces the rows with what this module counts."""

import math
from datetime import datetime, timedelta

from django.db.models import Case, Count, F, FloatField, IntegerField, Sum, Value, When
from django.db.models.functions import Cast, Floor, Greatest, Least, Ln, TruncSecond

from feedback.models import Feedback, Prediction

from .. import metrics
from ..models import DashboardSettings, MetricRollup
from ..rollup_fields import (
    HISTOGRAM_FIELDS,
    ROLLUP_FIELDS,
    SERVED_FIELDS,
    SUMMED_FIELDS,
    rollup_zero,
)
from .rollup_segments import (
    segments_bound,
    segments_count,
    segments_fold,
    segments_recount_feedback,
)

HOUR = timedelta(hours=1)
# What a day's (or week's) fold reads of the rows under it.
DAY_SOURCE_FIELDS = ["model_version_id", *ROLLUP_FIELDS]


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
        **rollup_zero(),
    }


def rollup_hour_compute(*, project_id: int, hour: datetime, swept: bool = False) -> list[dict]:
    """The rollup rows of one project and hour, counted from the raw tables (no writes).

    Five grouped queries over the hour's predictions (served_at index) and one over the
    current feedback about them; Python only folds the grouped results. `swept`: retention
    may have deleted predictions of this hour (those without feedback), so the figures of
    the predictions alone are kept from the hour's current rows and only feedback is
    recounted."""
    start, end = hour, hour + HOUR
    rows: dict[int | None, dict] = {}

    def row(version_id):
        if version_id not in rows:
            rows[version_id] = _empty_row(project_id, version_id, hour)
        return rows[version_id]

    ignored = list(
        DashboardSettings.objects.filter(project_id=project_id)
        .values_list("segment_ignore_keys", flat=True)
        .first()
        or []
    )
    if swept:
        kept_segments = {}
        for kept in MetricRollup.objects.filter(project_id=project_id, hour=hour).values(
            "model_version_id", "segment_counts", *SERVED_FIELDS
        ):
            version_id = kept.pop("model_version_id")
            kept_segments[version_id] = kept.pop("segment_counts")
            row(version_id).update(kept)
        segments_recount_feedback(
            project_id=project_id, start=start, end=end, ignored=ignored, kept=kept_segments,
            row=row,
        )  # fmt: skip
    else:
        _count_served(project_id, start, end, row)
        segments_count(project_id=project_id, start=start, end=end, ignored=ignored, row=row)
    _count_feedback(project_id, start, end, row)
    return list(rows.values())


def _count_served(project_id: int, start: datetime, end: datetime, row) -> None:
    """The figures of the hour's predictions alone, into `row(version_id)`."""
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


def _count_feedback(project_id: int, start: datetime, end: datetime, row) -> None:
    """The figures of the current feedback about the hour's predictions, and of the hour's
    complaints about no prediction, into `row(version_id)`."""
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


def rollup_day_fold(hour_rows: list[dict]) -> list[dict]:
    """Rows of a longer span (RollupSums fields without project and span start) from the
    hourly rows of one day, or the daily rows of one week: counts and histograms added, the
    busiest second kept, active hours counted."""
    days: dict = {}
    for row in hour_rows:
        version_id = row["model_version_id"]
        if version_id not in days:
            days[version_id] = {**rollup_zero(), "model_version_id": version_id, "active_hours": 0}
        day = days[version_id]
        for name in SUMMED_FIELDS:
            day[name] += row[name] or 0
        for label, n in (row["label_counts"] or {}).items():
            day["label_counts"][label] = day["label_counts"].get(label, 0) + n
        for predicted, corrected in (row["corrected_pairs"] or {}).items():
            pairs = day["corrected_pairs"].setdefault(predicted, {})
            for label, n in corrected.items():
                pairs[label] = pairs.get(label, 0) + n
        for name in HISTOGRAM_FIELDS:
            for i, n in enumerate((row[name] or [])[: metrics.CONFIDENCE_BINS]):
                day[name][i] += n
        for bucket, n in (row["latency_sketch"] or {}).items():
            day["latency_sketch"][bucket] = day["latency_sketch"].get(bucket, 0) + n
        segments_fold(day["segment_counts"], row.get("segment_counts"))
        day["peak_per_second"] = max(day["peak_per_second"], row["peak_per_second"] or 0)
        # Day rows carry their active hours; an hourly row is one hour, active if it served.
        day["active_hours"] += row.get("active_hours", 1 if row["predictions"] else 0)
    for day in days.values():
        segments_bound(day["segment_counts"])
    return list(days.values())
