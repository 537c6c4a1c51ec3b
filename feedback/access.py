"""Who may see and change what: project membership and roles for team pages.

A user who is not a member of a project gets a 404 for everything in it (its existence is not
revealed); a member whose role is too low gets a 403.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, Project


def membership_get(*, user, project: Project) -> Membership | None:
    """The user's membership; superusers act as admins of every project."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Membership(project=project, user=user, role=Membership.Role.ADMIN)
    return Membership.objects.filter(project=project, user=user).first()


def projects_for_user(user) -> QuerySet[Project]:
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def project_view(role: str = Membership.Role.VIEWER):
    """Decorate a view taking `slug`: login required, membership with at least `role`.
    Sets request.project and request.membership."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            project = Project.objects.filter(slug=slug).first()
            membership = membership_get(user=request.user, project=project) if project else None
            if membership is None:
                raise Http404("No such project.")
            if not membership.has_role(role):
                raise PermissionDenied("Your role in this project does not allow this.")
            request.project, request.membership = project, membership
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
