"""Reads of the dashboards: everything comes from the rollups, never from raw predictions (a
year of a busy project is millions of rows; its hourly rollups are thousands, its daily ones
hundreds). A period reads daily rows for its whole UTC days and hourly rows for the partial
days at its ends (`rollup_rows`)."""

from datetime import datetime, timedelta

from django.db.models import F, QuerySet
from django.db.models.functions import TruncDay, TruncWeek

from feedback.models import ModelVersion, Project

from . import metrics
from .models import MetricRollup, MetricRollupDay

DAY = timedelta(days=1)

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


def _day_floor(value: datetime) -> datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def period_split(since: datetime | None, until: datetime | None):
    """[since, until) as (hourly ranges, daily range or None): whole UTC days come from the
    daily rollups, the partial days at the ends from the hourly ones. Open ends are days."""
    first_day = None if since is None else _day_floor(since)
    if first_day is not None and first_day < since:
        first_day += DAY
    last_day = None if until is None else _day_floor(until)
    if first_day is not None and last_day is not None and first_day >= last_day:
        return [(since, until)], None
    hourly = []
    if since is not None and first_day > since:
        hourly.append((since, first_day))
    if until is not None and last_day < until:
        hourly.append((last_day, until))
    return hourly, (first_day, last_day)


def rollup_rows(
    *,
    project: Project,
    fields: list[str],
    version_ids: list[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    linked_only: bool = True,
    unlinked_only: bool = False,
) -> list[dict]:
    """Rollup rows of [since, until) as dicts of `fields` with the bucket start under "hour"
    and the hours with traffic under "active_hours": daily rows for whole days, hourly rows
    for the rest. At most three queries, whatever the length of the period."""
    hourly, daily = period_split(since, until)
    fields = [f for f in fields if f != "hour"]

    def scoped(qs):
        if unlinked_only:
            return qs.filter(model_version__isnull=True)
        if linked_only:
            qs = qs.filter(model_version__isnull=False)
        if version_ids is not None:
            qs = qs.filter(model_version_id__in=version_ids)
        return qs

    rows: list[dict] = []
    for start, end in hourly:
        qs = scoped(MetricRollup.objects.filter(project=project, hour__gte=start, hour__lt=end))
        for row in qs.values("hour", *fields):
            row["active_hours"] = 1 if row.get("predictions") else 0
            rows.append(row)
    if daily is not None:
        qs = scoped(MetricRollupDay.objects.filter(project=project))
        if daily[0] is not None:
            qs = qs.filter(day__gte=daily[0])
        if daily[1] is not None:
            qs = qs.filter(day__lt=daily[1])
        rows.extend(qs.values(*fields, "active_hours", hour=F("day")))
    rows.sort(key=lambda row: row["hour"])
    return rows


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
    rows: list[dict] | None = None,
) -> list[dict]:
    """Counts and rates per (bucket, model version), oldest first, from the rollup rows of the
    period (daily rows for whole days): the buckets are folded in Python. `rows`: the same
    period's rollup rows when the caller already read them (with COUNT_FIELDS)."""
    ordered = versions_for(project)
    if versions:
        ordered = [v for v in ordered if v.version in versions]
    names = {v.id: v.version for v in ordered}
    rank = {v.id: i for i, v in enumerate(ordered)}
    sums: dict[tuple, dict] = {}
    if rows is None:
        rows = rollup_rows(
            project=project,
            fields=["model_version_id", *COUNT_FIELDS],
            version_ids=list(names),
            since=since,
            until=until,
        )
    for row in rows:
        if row["model_version_id"] not in names:
            continue
        day = _day_floor(row["hour"])
        start = day - timedelta(days=day.weekday()) if bucket == "week" else day
        key = (start, row["model_version_id"])
        target = sums.setdefault(key, dict.fromkeys(COUNT_FIELDS, 0))
        for name in COUNT_FIELDS:
            target[name] += row[name]
    return [
        series_row(start, names[version_id], counts)
        for (start, version_id), counts in sorted(
            sums.items(), key=lambda item: (item[0][0], rank[item[0][1]])
        )
    ]


def versions_for(project: Project) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(project=project).order_by("released_at", "id"))
