"""Reads of the dashboards. Figures come from the rollups, never from raw predictions (a year
of a busy project is millions of rows; its hourly rollups are thousands, its daily ones
hundreds). A period reads daily rows for its whole UTC days and hourly rows for the partial
days at its ends (`rollup_rows`). The pages' other reads (settings, alert rules and events)
are at the end."""

from datetime import datetime, timedelta

import orjson
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.functions import Cast, TruncDay, TruncWeek

from feedback.models import ModelVersion, Project

from . import metrics
from .models import (
    AlertEvent,
    AlertRule,
    DashboardSettings,
    MetricRollup,
    MetricRollupDay,
    MetricRollupWeek,
    RollupCursor,
)
from .rollup_fields import COUNT_FIELDS, JSON_FIELDS

DAY = timedelta(days=1)
WEEK = timedelta(days=7)

BUCKETS = {"day": TruncDay, "week": TruncWeek}


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


def _ceil(value: datetime, floor, step: timedelta) -> datetime:
    start = floor(value)
    return start if start == value else start + step


def _week_floor(value: datetime) -> datetime:
    day = _day_floor(value)
    return day - timedelta(days=day.weekday())


def period_split(since: datetime | None, until: datetime | None, weeks: bool = False) -> dict:
    """[since, until) as ranges per rollup table: {"hour": [...], "day": [...], "week": [...]}.
    Whole weeks (with `weeks`) come from the weekly rollups, whole UTC days from the daily
    ones, the partial days at the ends from the hourly ones. An open end (None) is read from
    the daily rollups."""
    ranges: dict[str, list] = {"hour": [], "day": [], "week": []}
    if since is None or until is None:
        first = None if since is None else _ceil(since, _day_floor, DAY)
        last = None if until is None else _day_floor(until)
        ranges["day"].append((first, last))
        if since is not None and first > since:
            ranges["hour"].append((since, first))
        if until is not None and last < until:
            ranges["hour"].append((last, until))
        return ranges

    def days(start, end):
        first, last = _ceil(start, _day_floor, DAY), _day_floor(end)
        if first >= last:
            ranges["hour"].append((start, end))
            return
        ranges["hour"].extend(r for r in ((start, first), (last, end)) if r[0] < r[1])
        ranges["day"].append((first, last))

    first_week, last_week = _ceil(since, _week_floor, WEEK), _week_floor(until)
    if weeks and first_week < last_week:
        for start, end in ((since, first_week), (last_week, until)):
            if start < end:
                days(start, end)
        ranges["week"].append((first_week, last_week))
    elif since < until:
        days(since, until)
    return ranges


def rollup_rows(
    *,
    project: Project,
    fields: list[str],
    version_ids: list[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    linked_only: bool = True,
    unlinked_only: bool = False,
    weeks: bool = False,
) -> list[dict]:
    """Rollup rows of [since, until) as dicts of `fields` with the bucket start under "hour"
    and the hours with traffic under "active_hours": weekly rows for whole weeks (when
    `weeks`, for weekly buckets), daily rows for whole days, hourly rows for the rest. At most
    three queries, whatever the length of the period."""
    fields = [f for f in fields if f != "hour"]
    tables = {
        "hour": (MetricRollup, "hour"),
        "day": (MetricRollupDay, "day"),
        "week": (MetricRollupWeek, "week"),
    }
    rows: list[dict] = []
    for kind, spans in period_split(since, until, weeks).items():
        if not spans:
            continue
        model, column = tables[kind]
        condition = Q()
        for start, end in spans:
            part = Q()
            if start is not None:
                part &= Q(**{f"{column}__gte": start})
            if end is not None:
                part &= Q(**{f"{column}__lt": end})
            condition |= part
        qs = model.objects.filter(condition, project=project)
        if unlinked_only:
            qs = qs.filter(model_version__isnull=True)
        else:
            if linked_only:
                qs = qs.filter(model_version__isnull=False)
            if version_ids is not None:
                qs = qs.filter(model_version_id__in=version_ids)
        # The JSON columns are read as text and decoded with orjson (a year of daily rows is
        # ~1.4 MB of JSON; json.loads through the ORM takes about twice as long).
        plain = [f for f in fields if f not in JSON_FIELDS]
        as_text = {f"json_{f}": Cast(f, TextField()) for f in fields if f in JSON_FIELDS}
        if kind == "hour":
            found = list(qs.values("hour", *plain, **as_text))
            for row in found:
                row["active_hours"] = 1 if row.get("predictions") else 0
        else:
            found = list(qs.values(*plain, "active_hours", hour=F(column), **as_text))
        for row in found:
            for name in as_text:
                text = row.pop(name)
                row[name[5:]] = None if text is None else orjson.loads(text)
        rows.extend(found)
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
            weeks=bucket == "week",
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


def rollup_last_pass() -> datetime | None:
    """When a rollup pass last finished: beat schedules one every minute and a worker does it,
    so an old time means beat or every worker is down (/healthz details)."""
    return RollupCursor.objects.values_list("passed_at", flat=True).first()


def dashboard_settings(*, project: Project) -> DashboardSettings:
    """The project's settings, or unsaved defaults when it has none."""
    return DashboardSettings.for_project(project)


def alert_rules_for(*, project: Project) -> list[AlertRule]:
    return list(AlertRule.objects.filter(project=project))


def alert_rule_get(*, project: Project, rule_id: int) -> AlertRule | None:
    """A rule of the project, or None (another project's rule is as good as missing)."""
    return AlertRule.objects.filter(project=project, id=rule_id).first()


def alert_events_for(*, project: Project, limit: int) -> list[AlertEvent]:
    """The project's `limit` newest events, with their rules."""
    return list(AlertEvent.objects.filter(project=project).select_related("rule")[:limit])


def alert_events_open_count(*, project: Project) -> int:
    return AlertEvent.objects.filter(project=project, status=AlertEvent.Status.OPEN).count()
