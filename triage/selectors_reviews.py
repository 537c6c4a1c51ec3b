"""Reads of the team's review work: improvement points, weekly review sessions, comments.

(The weekly review's agenda is computed from the categories: `selectors.review_agenda`.)
"""

from django.db.models import QuerySet

from feedback.models import Project

from .models import Comment, ErrorCategory, ImprovementPoint, ReviewSession


def improvements_listed(*, project: Project, state: str = "") -> QuerySet[ImprovementPoint]:
    """The project's improvement points, in one state when `state` names one (else all)."""
    points = (
        ImprovementPoint.objects.filter(project=project)
        .select_related("assignee", "target_version", "done_in_version")
        .prefetch_related("categories")
    )
    if state in ImprovementPoint.State.values:
        points = points.filter(state=state)
    return points


def improvement_get(*, project: Project, point_id: int) -> ImprovementPoint | None:
    return (
        ImprovementPoint.objects.select_related("assignee", "target_version", "done_in_version")
        .filter(id=point_id, project=project)
        .first()
    )


def improvement_categories(*, point: ImprovementPoint) -> QuerySet[ErrorCategory]:
    return point.categories.select_related("fixed_in_version")


def comments_of(*, target: ErrorCategory | ImprovementPoint) -> QuerySet[Comment]:
    return target.comments.select_related("author")


def review_sessions(*, project: Project) -> QuerySet[ReviewSession]:
    return ReviewSession.objects.filter(project=project).select_related("started_by")


def review_get(*, project: Project, review_id: int) -> ReviewSession | None:
    # Attendees prefetched: the form's initial value and the closed page both list them.
    return (
        ReviewSession.objects.filter(id=review_id, project=project)
        .prefetch_related("attendees")
        .first()
    )
