"""Comments on categories and improvement points; @mentions notify by email."""

from functools import partial

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from core.audit import audit
from core.publish import publish
from feedback.models import Membership

from ..markdown import mentions
from ..models import Comment, ErrorCategory, ImprovementPoint

EMPTY = gettext_noop("A comment cannot be empty.")
MAX_LENGTH = 10_000
_TOO_LONG = gettext_noop("A comment holds at most {limit} characters.")
TOO_LONG = _TOO_LONG.format(limit=MAX_LENGTH)  # as shown in English


def comment_add(*, target: ErrorCategory | ImprovementPoint, author, body: str) -> Comment:
    """Add a comment; members mentioned as @username get an email (after commit, by the
    worker). Returns the comment."""
    body = body.strip()
    if not body:
        raise ValidationError(gettext(EMPTY))
    if len(body) > MAX_LENGTH:
        raise ValidationError(gettext(_TOO_LONG).format(limit=MAX_LENGTH))
    field = "category" if isinstance(target, ErrorCategory) else "improvement"
    comment = Comment.objects.create(
        project=target.project, author=author, body=body, **{field: target}
    )
    audit(project=target.project, actor=author, action="comment", target=target, comment=comment.id)
    notified = mentioned_members(project_id=target.project_id, body=body, exclude=author)
    if notified:
        transaction.on_commit(partial(publish, "triage.notify_mentions", comment.id, notified))
    return comment


def mentioned_members(*, project_id: int, body: str, exclude=None) -> list[int]:
    """Ids of the project's members mentioned in the text (never anyone else)."""
    names = mentions(body)
    if not names:
        return []
    users = get_user_model().objects.filter(username__in=names)
    ids = set(
        Membership.objects.filter(project_id=project_id, user__in=users).values_list(
            "user_id", flat=True
        )
    )
    ids.discard(getattr(exclude, "pk", None))
    return sorted(ids)
