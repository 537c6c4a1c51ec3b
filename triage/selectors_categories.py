"""Reads of the category pages: one category with its items' neighbours, history and work.

Each function is one query (or one lazy queryset the template evaluates once); the category
page calls them instead of reaching into the models itself.
"""

from collections import Counter

from django.db.models import QuerySet

from core.models import AuditEvent
from feedback.models import Feedback, Prediction, Project

from .models import (
    CategoryLineage,
    CategorySnapshot,
    CategoryVersionStat,
    ClusteringRun,
    ErrorCategory,
    ImprovementPoint,
    ItemAssignment,
)
from .segment_mix import MixFinding, segment_mix, segment_values
from .services.improvements import TEAM_OF_KIND

RECENT_RUNS = 5
SNAPSHOTS_SHOWN = 12
AUDIT_SHOWN = 20


def runs_latest(*, project: Project, limit: int = RECENT_RUNS) -> QuerySet[ClusteringRun]:
    # The fitted model state is megabytes per run and the status panel never shows it.
    return ClusteringRun.objects.filter(project=project).defer("model_state")[:limit]


def categories_listed(*, project: Project) -> QuerySet[ErrorCategory]:
    """The live categories of the category list: biggest first, the unsorted bucket last."""
    return ErrorCategory.objects.filter(project=project, merged_into__isnull=True).order_by(
        "is_unsorted", "-size", "id"
    )


def category_get(*, project: Project, category_id: int) -> ErrorCategory | None:
    """A category of the project (merged ones too: their page redirects), or None."""
    return (
        ErrorCategory.objects.select_related("assignee", "fixed_in_version", "merged_into")
        .filter(id=category_id, project=project)
        .first()
    )


def unsorted_category(*, project: Project) -> ErrorCategory | None:
    return ErrorCategory.objects.filter(project=project, is_unsorted=True).first()


def categories_by_ids(*, project: Project, ids: list[int]) -> QuerySet[ErrorCategory]:
    """Categories of the project among `ids` (ids of other projects are dropped)."""
    return ErrorCategory.objects.filter(project=project, id__in=ids)


def category_representatives(*, category: ErrorCategory) -> list[Feedback]:
    """The category's most typical items with their predictions, in the run's order."""
    ids = category.representative_ids
    found = {
        f.id: f
        for f in Feedback.objects.filter(id__in=ids, project_id=category.project_id)
        .select_related("prediction")
    }  # fmt: skip
    return [found[i] for i in ids if i in found]


def category_lineage(*, category: ErrorCategory) -> QuerySet[CategoryLineage]:
    """Merges and splits the category took part in, either side."""
    return CategoryLineage.objects.filter(child=category).select_related(
        "parent", "actor"
    ) | CategoryLineage.objects.filter(parent=category).select_related("child", "actor")


def category_snapshots(*, category: ErrorCategory) -> QuerySet[CategorySnapshot]:
    return category.snapshots.select_related("run").order_by("-run__created_at")[:SNAPSHOTS_SHOWN]


def category_audit(*, category: ErrorCategory) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        project_id=category.project_id, target_type="errorcategory", target_id=category.id
    ).select_related("actor")[:AUDIT_SHOWN]


def category_version_stats(*, category: ErrorCategory) -> QuerySet[CategoryVersionStat]:
    return category.version_stats.select_related("model_version").order_by(
        "model_version__released_at"
    )


def category_improvements(*, category: ErrorCategory) -> QuerySet[ImprovementPoint]:
    return category.improvements.select_related("done_in_version")


def rate_before_and_after(category: ErrorCategory) -> tuple[CategoryVersionStat | None, ...]:
    """The category's stat under the version before its fix, and under the fixing version."""
    if category.fixed_in_version is None:
        return None, None
    stats = {
        stat.model_version_id: stat
        for stat in category.version_stats.select_related("model_version")
    }
    after = stats.get(category.fixed_in_version_id)
    earlier = [
        stat
        for stat in stats.values()
        if stat.model_version.released_at < category.fixed_in_version.released_at
        and stat.predictions
    ]
    before = max(earlier, key=lambda s: s.model_version.released_at) if earlier else None
    return before, after


def suggested_owner_team(*, category: ErrorCategory) -> str:
    """The team most of the category's improvement points belong to ("" when none)."""
    teams = Counter(
        TEAM_OF_KIND[kind]
        for kind in category.improvements.exclude(
            state=ImprovementPoint.State.REJECTED
        ).values_list("kind", flat=True)
        if kind in TEAM_OF_KIND
    )
    return teams.most_common(1)[0][0] if teams else ""


# The project's traffic mix is read off its latest predictions (an index range, not a scan).
TRAFFIC_SAMPLE = 20_000
MIX_CHUNK = 5000


def category_segment_mix(*, category: ErrorCategory) -> list[MixFinding]:
    """The metadata values over-represented among the category's predictions, against the
    project's latest TRAFFIC_SAMPLE predictions."""
    # The ids first, then the predictions by id: one `id IN (subquery)` statement was planned
    # as nested loops over the unanalysed tables of a fresh load and ran for minutes.
    linked = sorted(
        set(
            ItemAssignment.objects.filter(
                category=category, feedback__prediction__isnull=False
            ).values_list("feedback__prediction_id", flat=True)
        )
    )
    metadata = (
        value
        for start in range(0, len(linked), MIX_CHUNK)
        for value in Prediction.objects.filter(
            id__in=linked[start : start + MIX_CHUNK]
        ).values_list("metadata", flat=True)
    )
    in_category, category_n = segment_values(metadata)
    if not in_category:
        return []
    latest = (
        Prediction.objects.filter(project_id=category.project_id)
        .order_by("-served_at")
        .values_list("metadata", flat=True)[:TRAFFIC_SAMPLE]
    )
    in_traffic, traffic_n = segment_values(latest.iterator())
    return segment_mix(in_category, category_n, in_traffic, traffic_n)
