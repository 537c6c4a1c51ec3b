"""Improvement points: what the team decided to change, and what that did to the categories."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from core.actors import user_or_none
from core.audit import audit
from feedback.models import ModelVersion, Project

from ..models import ErrorCategory, ImprovementPoint

DONE_NEEDS_VERSION = gettext_noop(
    "Marking a model or data fix done needs the version that shipped it."
)
OTHER_PROJECT = gettext_noop("Categories and versions must belong to this project.")

# Who usually owns the work of each kind of improvement.
TEAM_OF_KIND = {
    ImprovementPoint.Kind.MODEL: ErrorCategory.Team.MODEL,
    ImprovementPoint.Kind.TRAINING_DATA: ErrorCategory.Team.DATA,
    ImprovementPoint.Kind.EVAL_DATA: ErrorCategory.Team.DATA,
    ImprovementPoint.Kind.LABELING_GUIDELINE: ErrorCategory.Team.DATA,
}
# Kinds whose fix reaches customers through a new model version.
SHIPS_IN_A_VERSION = {
    ImprovementPoint.Kind.MODEL,
    ImprovementPoint.Kind.TRAINING_DATA,
    ImprovementPoint.Kind.EVAL_DATA,
    ImprovementPoint.Kind.LABELING_GUIDELINE,
}
EDITABLE = (
    "title", "kind", "description", "owner_team", "assignee", "state", "target_version",
    "done_in_version", "decision_date", "due_date",
)  # fmt: skip


def _check_project(project: Project, categories, versions) -> None:
    if any(c.project_id != project.id for c in categories) or any(
        v is not None and v.project_id != project.id for v in versions
    ):
        raise ValidationError(gettext(OTHER_PROJECT))


@transaction.atomic
def improvement_create(
    *, project: Project, categories: Iterable[ErrorCategory], actor, **fields
) -> ImprovementPoint:
    """Create an improvement point from categories of the project, or project-wide (none)."""
    categories = list(categories)
    _check_project(project, categories, [fields.get("target_version")])
    fields = {key: value for key, value in fields.items() if key in EDITABLE}
    if not fields.get("owner_team"):  # the team that usually owns this kind of work
        fields["owner_team"] = TEAM_OF_KIND.get(fields.get("kind"), "")
    point = ImprovementPoint(project=project, created_by=user_or_none(actor), **fields)
    point.full_clean(exclude=["categories"])
    point.save()
    point.categories.set(categories)
    audit(
        project=project, actor=actor, action="improvement_create", target=point,
        categories=[c.id for c in categories], kind=point.kind,
    )  # fmt: skip
    if point.state == ImprovementPoint.State.DONE:
        _mark_categories_fixed(point, actor)
    return point


@transaction.atomic
def improvement_update(
    *, point: ImprovementPoint, actor, categories: Iterable[ErrorCategory] | None = None, **fields
) -> ImprovementPoint:
    """Change an improvement point. Done with a model version marks its categories fixed in
    that version; the regression check then watches the version's traffic."""
    old_state = point.state
    changed = {}
    for key, value in fields.items():
        if key in EDITABLE and getattr(point, key) != value:
            changed[key] = str(value) if value is not None else None
            setattr(point, key, value)
    _check_project(
        point.project, list(categories or []), [point.target_version, point.done_in_version]
    )
    if (
        point.state == ImprovementPoint.State.DONE
        and point.kind in SHIPS_IN_A_VERSION
        and point.done_in_version is None
    ):
        raise ValidationError({"done_in_version": gettext(DONE_NEEDS_VERSION)})
    point.updated_at = timezone.now()
    point.full_clean(exclude=["categories"])
    point.save()
    if categories is not None:
        point.categories.set(list(categories))
        changed["categories"] = sorted(c.id for c in point.categories.all())
    if changed:
        audit(
            project=point.project, actor=actor, action="improvement_update", target=point, **changed
        )
    if point.state == ImprovementPoint.State.DONE and old_state != ImprovementPoint.State.DONE:
        _mark_categories_fixed(point, actor)
    return point


def _mark_categories_fixed(point: ImprovementPoint, actor) -> None:
    now = timezone.now()
    for category in point.categories.select_for_update():
        old = category.state
        category.state = ErrorCategory.State.FIXED
        category.fixed_in_version = point.done_in_version
        category.fixed_at = now
        category.regressed_at = None
        category.regression_note = ""
        category.updated_at = now
        category.save()
        audit(
            project=point.project, actor=actor, action="state", target=category, old=old,
            new="fixed", version=point.done_in_version.version if point.done_in_version else None,
            improvement=point.id,
        )  # fmt: skip


def version_for(project: Project, version: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, version=version).first()
