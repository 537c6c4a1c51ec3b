"""Verification by the next model version (Sentry's resolved-in-release -> regression flow).

A category's rate under a version is its feedback per 1,000 predictions of the labels
involved (the labels the model predicted for its items). When a category fixed in version V
comes back under V's traffic at `regression_share` of its rate before, it turns `regressed`
by itself and says so on the board.
"""

from collections import defaultdict

from django.db.models import Count
from django.utils import timezone

from core.audit import audit
from feedback.models import ModelVersion, Prediction, Project

from ..models import CategoryVersionStat, ErrorCategory, ItemAssignment, ReviewSettings
from ..selectors_categories import rate_before_and_after


def review_settings(project: Project) -> ReviewSettings:
    return ReviewSettings.objects.filter(project=project).first() or ReviewSettings(project=project)


def _label_counts(project: Project, version: ModelVersion) -> dict[str, int]:
    return dict(
        Prediction.objects.filter(project=project, model_version=version)
        .values_list("predicted_label")
        .annotate(n=Count("id"))
        .values_list("predicted_label", "n")
    )


def category_rates_refresh(*, project: Project) -> int:
    """Recompute every live category's rate under every model version, and its impact under
    the latest version. One grouped scan of predictions per version; returns rows written."""
    versions = list(ModelVersion.objects.filter(project=project).order_by("released_at", "id"))
    if not versions:
        return 0
    label_counts = {version.id: _label_counts(project, version) for version in versions}
    items = defaultdict(int)
    for category_id, version_id, n in (
        ItemAssignment.objects.filter(category__project=project, feedback__prediction__isnull=False)
        .values_list("category_id", "feedback__prediction__model_version_id")
        .annotate(n=Count("feedback"))
    ):
        items[(category_id, version_id)] = n
    categories = list(
        ErrorCategory.objects.filter(project=project, merged_into__isnull=True, is_unsorted=False)
    )
    now = timezone.now()
    rows = []
    for category in categories:
        labels = list(category.labels.get("predicted", {}))
        for version in versions:
            predictions = sum(label_counts[version.id].get(label, 0) for label in labels)
            count = items[(category.id, version.id)]
            if not predictions and not count:
                continue
            rows.append(
                CategoryVersionStat(
                    category=category,
                    model_version=version,
                    items=count,
                    predictions=predictions,
                    rate=1000 * count / predictions if predictions else None,
                    computed_at=now,
                )
            )
    CategoryVersionStat.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["category", "model_version"],
        update_fields=["items", "predictions", "rate", "computed_at"],
        batch_size=1000,
    )
    latest = next((v for v in reversed(versions) if sum(label_counts[v.id].values())), versions[-1])
    total = sum(label_counts[latest.id].values())
    for category in categories:
        category.impact = 1000 * items[(category.id, latest.id)] / total if total else 0
    ErrorCategory.objects.bulk_update(categories, ["impact"], batch_size=500)
    return len(rows)


def regressions_detect(*, project: Project) -> list[int]:
    """Turn fixed categories whose rate came back into `regressed`. Returns their ids."""
    preferences = review_settings(project)
    regressed = []
    for category in ErrorCategory.objects.filter(
        project=project, state=ErrorCategory.State.FIXED, fixed_in_version__isnull=False
    ).select_related("fixed_in_version"):
        before, after = rate_before_and_after(category)
        if not before or not after or before.rate is None or after.rate is None:
            continue
        if after.predictions < preferences.regression_min_predictions or after.items == 0:
            continue
        if after.rate >= preferences.regression_share * before.rate:
            category.state = ErrorCategory.State.REGRESSED
            category.regressed_at = timezone.now()
            category.regression_note = (
                f"Back in {category.fixed_in_version.version}: {after.rate:.1f} per 1,000 "
                f"predictions of its labels (before the fix: {before.rate:.1f})."
            )
            category.save(update_fields=["state", "regressed_at", "regression_note"])
            audit(
                project=project, actor=None, action="regressed", target=category,
                before=round(before.rate, 2), after=round(after.rate, 2),
                version=category.fixed_in_version.version,
            )  # fmt: skip
            regressed.append(category.id)
    return regressed


def verification_refresh(*, project: Project) -> list[int]:
    """Rates, then regressions: what the periodic job does for a project."""
    category_rates_refresh(project=project)
    return regressions_detect(project=project)


def verification_refresh_projects(*, project_id: int | None = None) -> None:
    """`verification_refresh` for one project, or for every project (beat)."""
    for project in Project.objects.filter(**({"id": project_id} if project_id else {})):
        verification_refresh(project=project)
