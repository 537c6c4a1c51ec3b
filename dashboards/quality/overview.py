"""The overview page's figures (what the UI calls *Quality*): a query (period, buckets,
versions, drift reference) in, every section out.

Reads the rollups of the period and of the reference windows (`queries.py`), folds them per
version and per (bucket, version) cell (`folds.py`), works out each section's numbers
(`figures.py`) and lays them out as sections with a chart and a table (`sections.py`). A year
per day is 365 buckets per version: the per-bucket work runs on numpy matrices."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from feedback.models import ModelVersion, Project

from ..selectors import dashboard_settings, metrics_series, versions_for
from . import figures, queries, reviewers, sections
from .folds import BucketShares, Totals, bucket_partial

# Drift reference by default: the previous version's first weeks of traffic.
REFERENCE_DAYS = 14


@dataclass
class OverviewQuery:
    since: datetime
    until: datetime
    bucket: str = "day"
    versions: list[ModelVersion] = field(default_factory=list)
    # "previous" (the previous version's first weeks) or "window" (reference_since/until).
    reference: str = "previous"
    reference_since: datetime | None = None
    reference_until: datetime | None = None
    # Every version of the project, oldest first, when the caller already has them.
    project_versions: list[ModelVersion] | None = None

    def all_versions(self, project: Project) -> list[ModelVersion]:
        if self.project_versions is None:
            self.project_versions = versions_for(project)
        return self.project_versions


def overview_build(*, project: Project, query: OverviewQuery) -> dict:
    """All sections of the overview page for the query's period, versions and reference."""
    versions = query.versions or query.all_versions(project)
    names = {v.id: v.version for v in versions}
    rows, details = queries.period_rows(
        project=project,
        version_ids=list(names),
        since=query.since,
        until=query.until,
        weeks=query.bucket == "week",
    )
    per_version: dict[int, Totals] = {v.id: Totals() for v in versions}
    for row in rows:
        per_version[row["model_version_id"]].add(row, shares=False, details=details is None)
    for row in details or []:
        per_version[row["model_version_id"]].add_details(row)
    references = _references(project, query, versions)
    reference_labels = {label for totals, _ in references.values() for label in totals.labels}
    cells = BucketShares(rows, query.bucket, reference_labels, query.since, query.until)
    # A version's label counts and confidences are the sums of its buckets'.
    for version_id, totals in per_version.items():
        totals.labels = cells.version_labels(version_id)
        totals.conf_n = cells.version_conf(version_id)
    active = [v for v in versions if per_version[v.id].counts["predictions"]]
    settings = dashboard_settings(project=project)
    unlinked = queries.unlinked_complaints(project=project, since=query.since, until=query.until)
    series = metrics_series(
        project=project,
        bucket=query.bucket,
        versions=list(names.values()),
        since=query.since,
        until=query.until,
        rows=rows,
    )
    for row in series:
        row["partial"] = bucket_partial(row["bucket_start"], query.bucket, query.since, query.until)
    target, sla = settings.target_correction_rate, settings.sla_latency_p95_ms
    confusion = figures.confusion(per_version, queries.pair_categories(project))
    verdicts = queries.reviewer_verdicts(
        project=project, version_ids=list(names), since=query.since, until=query.until
    )
    return {
        "versions": active,
        "headline": figures.headline(active, per_version),
        "has_data": bool(rows),
        "unlinked_complaints": unlinked,
        "settings": settings,
        "sections": [
            sections.rates_section(series),
            sections.offline_online_section(figures.offline_online(active, per_version)),
            sections.confusion_section(confusion),
            sections.collapse_section(figures.collapse(active, cells, references, names)),
            sections.drift_section(figures.drift(active, cells, references, names)),
            sections.reliability_section(figures.reliability(active, per_version, target), target),
            sections.service_section(
                figures.service(active, per_version, sla),
                sla,
                # Per week from the coarser read when the rows do not carry the sketches.
                figures.latency_series(
                    rows if details is None else details,
                    query.bucket if details is None else "week",
                    {v.id: v.version for v in active},
                    query.since,
                    query.until,
                ),
            ),
            *(
                [sections.reviewers_section(reviewers.reviewer_findings(verdicts, names))]
                if verdicts
                else []
            ),
        ],
    }


def _references(project: Project, query: OverviewQuery, versions: list[ModelVersion]) -> dict:
    """(reference Totals, how to describe it) per version id: the chosen window for all, or
    the previous version's (the first version's own) first REFERENCE_DAYS of traffic. The
    description is a lazy message: the page shows it in the reader's language, the CSV in
    English."""
    if query.reference == "window" and query.reference_since and query.reference_until:
        total = Totals()
        for row in queries.reference_rows(
            project=project, since=query.reference_since, until=query.reference_until
        ):
            total.add(row)
        return {v.id: (total, _("the chosen window")) for v in versions}
    ordered = query.all_versions(project)
    first_days = queries.first_traffic_days(project)
    source_of = {}
    for version in versions:
        index = ordered.index(version) if version in ordered else 0
        candidates = [v for v in ordered[:index] if v.id in first_days][-1:] or [version]
        source_of[version.id] = candidates[0]
    wanted = {s.id for s in source_of.values() if s.id in first_days}
    totals: dict[int, Totals] = defaultdict(Totals)
    for version_id in wanted:
        start = first_days[version_id]
        for row in queries.reference_rows(
            project=project,
            version_ids=[version_id],
            since=start,
            until=start + timedelta(days=REFERENCE_DAYS),
        ):
            totals[row["model_version_id"]].add(row)
    return {
        version_id: (
            totals[source.id],
            format_lazy(
                _("{version}'s first {days} days"), version=source.version, days=REFERENCE_DAYS
            ),
        )
        for version_id, source in source_of.items()
    }
