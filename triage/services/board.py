"""Triage decisions on a category: its state, owner team and assignee."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from core.audit import audit
from feedback.models import Membership

from ..models import ErrorCategory

NOT_A_MEMBER = gettext_noop("The assignee must be a member of this project.")
UNSORTED_NO_STATE = gettext_noop("The unsorted bucket has no triage state.")


def category_set_state(*, category: ErrorCategory, state: str, actor) -> ErrorCategory:
    """Move a category to a state (board column). Marking it fixed by hand records when;
    leaving `fixed`/`regressed` clears the verification marks."""
    if state not in ErrorCategory.State.values:
        raise ValidationError(gettext("Unknown state %(state)s.") % {"state": repr(state)})
    if category.is_unsorted:
        raise ValidationError(gettext(UNSORTED_NO_STATE))
    old = category.state
    if old == state:
        return category
    category.state = state
    now = timezone.now()
    if state == ErrorCategory.State.FIXED and category.fixed_at is None:
        category.fixed_at = now
    if state not in (ErrorCategory.State.FIXED, ErrorCategory.State.REGRESSED):
        category.fixed_at = category.fixed_in_version = category.regressed_at = None
        category.regression_note = ""
    category.updated_at = now
    category.save()
    audit(
        project=category.project, actor=actor, action="state", target=category, old=old, new=state
    )
    return category


def category_assign(
    *,
    category: ErrorCategory,
    owner_team: str | None = None,
    assignee=None,
    actor,
    clear_assignee=False,
) -> ErrorCategory:
    """Set the owner team and/or the assignee (who must belong to the project)."""
    changes = {}
    if owner_team is not None:
        if owner_team not in ("", *ErrorCategory.Team.values):
            raise ValidationError(gettext("Unknown team %(team)s.") % {"team": repr(owner_team)})
        changes["owner_team"] = (category.owner_team, owner_team)
        category.owner_team = owner_team
    if assignee is not None or clear_assignee:
        if assignee is not None and not (
            assignee.is_superuser
            or Membership.objects.filter(project=category.project, user=assignee).exists()
        ):
            raise ValidationError(gettext(NOT_A_MEMBER))
        changes["assignee"] = (
            category.assignee.get_username() if category.assignee else None,
            assignee.get_username() if assignee else None,
        )
        category.assignee = assignee
    if changes:
        category.updated_at = timezone.now()
        category.save(update_fields=["owner_team", "assignee", "updated_at"])
        audit(
            project=category.project, actor=actor, action="assign", target=category,
            **{field: {"old": old, "new": new} for field, (old, new) in changes.items()},
        )  # fmt: skip
    return category
