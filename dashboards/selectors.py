"""Reads of the dashboards: everything comes from the hourly rollups, never from raw
predictions (a year of a busy project is millions of rows; its rollups are thousands)."""

from datetime import datetime

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDay, TruncWeek

from feedback.models import ModelVersion, Project

from . import metrics
from .models import MetricRollup

BUCKETS = {"day": TruncDay, "week": TruncWeek}
COUNT_FIELDS = (
    "predictions",
    "feedback_predictions",
    "corrections",
    "complaints",
    "ratings_up",
    "ratings_down",
)


def rollups_for(
    *,
    project: Project,
    versions: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    linked_only: bool = True,
) -> QuerySet[MetricRollup]:
    """Rollup rows of a project; hours are kept when their start is in [since, until)."""
    qs = MetricRollup.objects.filter(project=project)
    if linked_only:
        qs = qs.filter(model_version__isnull=False)
    if versions:
        qs = qs.filter(model_version__version__in=versions)
    if since is not None:
        qs = qs.filter(hour__gte=since)
    if until is not None:
        qs = qs.filter(hour__lt=until)
    return qs


def series_row(bucket_start, version: str | None, counts: dict) -> dict:
    """One bucket of one version with its rates and Wilson intervals (API and pages)."""
    n = counts["predictions"]
    return {
        "bucket_start": bucket_start,
        "model_version": version,
        "predictions": n,
        "corrections": counts["corrections"],
        "complaints": counts["complaints"],
        "ratings_up": counts["ratings_up"],
        "ratings_down": counts["ratings_down"],
        "correction_rate": metrics.rate(counts["corrections"], n),
        "correction_rate_ci": metrics.wilson_interval(counts["corrections"], n),
        "complaint_rate": metrics.rate(counts["complaints"], n),
        "complaint_rate_ci": metrics.wilson_interval(counts["complaints"], n),
        "predictions_with_feedback": counts["feedback_predictions"],
        "online_accuracy_proxy": _proxy(counts["corrections"], n),
        "online_accuracy_among_feedback": _proxy(
            counts["corrections"], counts["feedback_predictions"]
        ),
    }


def _proxy(corrections: int, n: int) -> float | None:
    value = metrics.rate(corrections, n)
    return None if value is None else 1 - value


def metrics_series(
    *,
    project: Project,
    bucket: str = "day",
    versions: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict]:
    """Counts and rates per (bucket, model version), oldest first: one grouped query."""
    trunc = BUCKETS[bucket]
    grouped = (
        rollups_for(project=project, versions=versions, since=since, until=until)
        .annotate(bucket_start=trunc("hour"))
        .values("bucket_start", "model_version__version", "model_version__released_at")
        .annotate(**{name: Sum(name) for name in COUNT_FIELDS})
        .order_by("bucket_start", "model_version__released_at", "model_version__version")
    )
    return [series_row(row["bucket_start"], row["model_version__version"], row) for row in grouped]


def versions_for(project: Project) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(project=project).order_by("released_at", "id"))
