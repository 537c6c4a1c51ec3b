"""Who may see and change what: project membership and roles for team pages.

A user who is not a member of a project gets a 404 for everything in it (its existence is not
revealed); a member whose role is too low gets a 403.

Projects and memberships are the feedback app's models; like core/models.py, this module names
them through the app registry ("feedback.Project") and imports none of them.
"""

from functools import wraps

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

# The lowest role (Membership.Role.VIEWER): any member may look.
VIEWER = "viewer"
ADMIN = "admin"


def _project_model():
    return apps.get_model("feedback", "Project")


def _membership_model():
    return apps.get_model("feedback", "Membership")


def membership_get(*, user, project):
    """The user's membership (None: not a member); superusers act as admins of every project."""
    if not user.is_authenticated:
        return None
    Membership = _membership_model()
    if user.is_superuser:
        return Membership(project=project, user=user, role=ADMIN)
    return Membership.objects.filter(project=project, user=user).first()


def projects_for_user(user):
    """The projects whose pages the user may open (a QuerySet of feedback.Project)."""
    Project = _project_model()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def project_view(role: str = VIEWER):
    """Decorate a view taking `slug`: login required, membership with at least `role`.
    Sets request.project and request.membership."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            project = _project_model().objects.filter(slug=slug).first()
            membership = membership_get(user=request.user, project=project) if project else None
            if membership is None:
                raise Http404("No such project.")
            if not membership.has_role(role):
                raise PermissionDenied("Your role in this project does not allow this.")
            request.project, request.membership = project, membership
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
