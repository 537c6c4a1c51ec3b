"""The weekly review: an agenda from the data since the last review, attendees, decisions."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from core.actors import user_or_none
from core.audit import audit
from feedback.models import Project

from ..models import ReviewSession
from ..selectors import review_agenda, review_agenda_more

DEFAULT_PERIOD = timedelta(days=7)
ALREADY_CLOSED = gettext_noop("This review is closed.")


def review_start(*, project: Project, actor) -> tuple[ReviewSession, bool]:
    """Open this week's review, or return the one already open. Its period starts where the
    last review started (or a week ago)."""
    last = ReviewSession.objects.filter(project=project).order_by("-started_at").first()
    period_start = last.started_at if last else timezone.now() - DEFAULT_PERIOD
    try:
        with transaction.atomic():
            session = ReviewSession.objects.create(
                project=project, period_start=period_start, started_by=user_or_none(actor)
            )
    except IntegrityError:
        return ReviewSession.objects.get(project=project, closed_at__isnull=True), False
    audit(project=project, actor=actor, action="review_start", target=session)
    return session, True


def review_record(
    *, session: ReviewSession, actor, attendees=None, decisions=None
) -> ReviewSession:
    """Save who attended and what was decided (Markdown)."""
    if session.closed_at:
        raise ValidationError(gettext(ALREADY_CLOSED))
    if decisions is not None:
        session.decisions = decisions.strip()
        session.save(update_fields=["decisions"])
    if attendees is not None:
        session.attendees.set(attendees)
    audit(project=session.project, actor=actor, action="review_record", target=session)
    return session


def review_close(*, session: ReviewSession, actor) -> ReviewSession:
    """Freeze the agenda as it stood and close the review."""
    if session.closed_at:
        raise ValidationError(gettext(ALREADY_CLOSED))
    agenda = review_agenda(project=session.project, since=session.period_start)
    session.agenda = {
        **{
            section: [{"id": obj.id, "title": str(obj)} for obj in objects]
            for section, objects in agenda.items()
        },
        # How many more each section had than it lists (the "and N more" line).
        "more": review_agenda_more(project=session.project, since=session.period_start),
    }
    session.closed_at = timezone.now()
    session.save(update_fields=["agenda", "closed_at"])
    audit(project=session.project, actor=actor, action="review_close", target=session)
    return session
