"""What people do to categories and items. Every change is audited, and runs never undo it:
renamed titles are locked, moved items are pinned, merged categories stay merged."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from core.actors import user_or_none
from core.audit import audit
from feedback.models import Feedback, Project

from ..models import CategoryLineage, ErrorCategory, ItemAssignment

SAME_CATEGORY = gettext_noop("A category cannot be merged into itself.")
OTHER_PROJECT = gettext_noop("Both categories must belong to the same project.")
ALREADY_MERGED = gettext_noop("This category was already merged into another one.")
UNSORTED_FIXED = gettext_noop("The unsorted bucket cannot be merged, split or renamed.")
NO_ITEMS = gettext_noop("Choose at least one item of this category.")
EMPTY_TITLE = gettext_noop("A title cannot be empty.")


def categories_recount(*, project: Project) -> None:
    """Sizes and shares from the items currently in each category."""
    counts = dict(
        ItemAssignment.objects.filter(category__project=project)
        .values_list("category")
        .annotate(n=Count("feedback"))
        .values_list("category", "n")
    )
    total = sum(counts.values())
    for category in ErrorCategory.objects.filter(project=project):
        size = counts.get(category.id, 0)
        share = size / total if total else 0
        if (category.size, category.share) != (size, share):
            category.size, category.share = size, share
            category.save(update_fields=["size", "share"])


def _check_movable(category: ErrorCategory) -> None:
    if category.is_unsorted:
        raise ValidationError(gettext(UNSORTED_FIXED))
    if category.merged_into_id:
        raise ValidationError(gettext(ALREADY_MERGED))


def category_rename(*, category: ErrorCategory, title: str, actor) -> ErrorCategory:
    """Give a category a human title; later runs keep it (they only update auto_title)."""
    title = title.strip()
    if not title:
        raise ValidationError(gettext(EMPTY_TITLE))
    if category.is_unsorted:
        raise ValidationError(gettext(UNSORTED_FIXED))
    old = category.title
    category.title, category.title_locked, category.updated_at = title[:200], True, timezone.now()
    category.save(update_fields=["title", "title_locked", "updated_at"])
    audit(
        project=category.project, actor=actor, action="rename", target=category, old=old, new=title
    )
    return category


@transaction.atomic
def category_merge(*, source: ErrorCategory, target: ErrorCategory, actor) -> ErrorCategory:
    """Move all of source's items into target and retire source. Later runs keep them one
    category (target absorbs clusters made of its items)."""
    if source.pk == target.pk:
        raise ValidationError(gettext(SAME_CATEGORY))
    if source.project_id != target.project_id:
        raise ValidationError(gettext(OTHER_PROJECT))
    _check_movable(source)
    _check_movable(target)
    moved = ItemAssignment.objects.filter(category=source).update(category=target)
    source.merged_into, source.updated_at = target, timezone.now()
    source.save(update_fields=["merged_into", "updated_at"])
    target.human_merged, target.updated_at = True, timezone.now()
    target.save(update_fields=["human_merged", "updated_at"])
    CategoryLineage.objects.create(
        project=target.project, parent=source, child=target, kind="merge", actor=user_or_none(actor)
    )
    categories_recount(project=target.project)
    audit(
        project=target.project, actor=actor, action="merge", target=target,
        source_id=source.pk, source_title=source.title, items=moved,
    )  # fmt: skip
    return target


def _items_of(category: ErrorCategory, feedback_ids: Iterable[int]) -> list[int]:
    return list(
        ItemAssignment.objects.filter(category=category, feedback_id__in=list(feedback_ids))
        .order_by("feedback_id")
        .values_list("feedback_id", flat=True)
    )


@transaction.atomic
def category_split(
    *, category: ErrorCategory, feedback_ids: Iterable[int], actor, title: str = ""
) -> ErrorCategory:
    """Move the chosen items of a category into a new category of their own (pinned there)."""
    _check_movable(category)
    ids = _items_of(category, feedback_ids)
    if not ids:
        raise ValidationError(gettext(NO_ITEMS))
    child = ErrorCategory.objects.create(
        project=category.project,
        title=(title.strip() or f"Split from {category.title}")[:200],
        title_locked=bool(title.strip()),
        auto_title=category.auto_title,
        keywords=category.keywords,
        state=ErrorCategory.State.NEW,
        owner_team=category.owner_team,
        first_seen=category.first_seen,
        last_seen=category.last_seen,
    )
    ItemAssignment.objects.filter(feedback_id__in=ids).update(category=child, pinned=True)
    CategoryLineage.objects.create(
        project=category.project,
        parent=category,
        child=child,
        kind="split",
        actor=user_or_none(actor),
    )
    categories_recount(project=category.project)
    audit(
        project=category.project, actor=actor, action="split", target=category,
        new_category_id=child.pk, items=ids,
    )  # fmt: skip
    return child


@transaction.atomic
def items_move(
    *, project: Project, feedback_ids: Iterable[int], target: ErrorCategory, actor
) -> int:
    """Pin items of the project into target; returns how many moved."""
    if target.project_id != project.pk:
        raise ValidationError(gettext(OTHER_PROJECT))
    _check_movable(target)
    ids = list(
        ItemAssignment.objects.filter(
            feedback__project=project, feedback_id__in=list(feedback_ids)
        ).values_list("feedback_id", flat=True)
    )
    moved = ItemAssignment.objects.filter(feedback_id__in=ids).update(category=target, pinned=True)
    Feedback.objects.filter(id__in=ids, triage_state=Feedback.TriageState.NEW).update(
        triage_state=Feedback.TriageState.CATEGORIZED
    )
    categories_recount(project=project)
    audit(project=project, actor=actor, action="move_items", target=target, items=sorted(ids))
    return moved


@transaction.atomic
def item_mark_not_error(*, feedback: Feedback, actor, not_error: bool = True) -> Feedback:
    """A person says this feedback is not about a model error (or takes that back). It leaves
    its category and runs ignore it from now on."""
    feedback.triage_state = (
        Feedback.TriageState.NOT_AN_ERROR if not_error else Feedback.TriageState.NEW
    )
    feedback.save(update_fields=["triage_state"])
    ItemAssignment.objects.update_or_create(
        feedback=feedback, defaults={"category": None, "pinned": not_error}
    )
    categories_recount(project=feedback.project)
    audit(
        project=feedback.project, actor=actor,
        action="mark_not_error" if not_error else "unmark_not_error", target=feedback,
    )  # fmt: skip
    return feedback


@transaction.atomic
def items_mark_not_error(*, category: ErrorCategory, feedback_ids: Iterable[int], actor) -> int:
    """Mark the chosen items of a category "not a model error" (ids of other categories or
    projects are ignored); returns how many were marked."""
    items = Feedback.objects.filter(
        id__in=list(feedback_ids), project_id=category.project_id, assignment__category=category
    )
    marked = 0
    for feedback in items:
        item_mark_not_error(feedback=feedback, actor=actor)
        marked += 1
    return marked
