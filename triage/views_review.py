"""Improvement points and the weekly review."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from core.access import project_view

from . import selectors
from . import selectors_reviews as review_selectors
from .forms import CommentForm, ImprovementForm, ReviewForm
from .models import ErrorCategory, ImprovementPoint
from .selectors_categories import categories_by_ids
from .services import reviews as review_services
from .services.comments import comment_add
from .services.improvements import improvement_create, improvement_update

# --- improvement points -------------------------------------------------------------------


@project_view()
def improvement_list(request):
    state = request.GET.get("state", "")
    context = {
        "points": review_selectors.improvements_listed(project=request.project, state=state),
        "states": ImprovementPoint.State.choices,
        "state": state,
        "can_edit": request.membership.has_role("reviewer"),
        "section": "improvements",
    }
    return render(request, "triage/improvement_list.html", context)


def _form(request, data=None, instance=None, initial=None):
    return ImprovementForm(
        data,
        instance=instance,
        initial=initial,
        project=request.project,
        members=selectors.project_members(project=request.project),
    )


def _fields(form) -> dict:
    return {key: value for key, value in form.cleaned_data.items() if key != "categories"}


def _show_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@project_view(role="reviewer")
def improvement_new(request):
    """Create from one or more categories (preselected with ?category=ID&category=ID)."""
    chosen = [int(v) for v in request.GET.getlist("category") if v.isdigit()]
    initial = {
        "categories": categories_by_ids(project=request.project, ids=chosen),
        "kind": request.GET.get("kind", ""),
    }
    form = _form(request, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            point = improvement_create(
                project=request.project,
                categories=form.cleaned_data["categories"],
                actor=request.user,
                **_fields(form),
            )
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("Improvement point created."))
            return redirect("improvement-detail", slug=request.project.slug, point_id=point.id)
    return render(
        request, "triage/improvement_form.html", {"form": form, "section": "improvements"}
    )


def _point(request, point_id: int) -> ImprovementPoint:
    point = review_selectors.improvement_get(project=request.project, point_id=point_id)
    if point is None:
        raise Http404("No such improvement point in this project.")
    return point


@project_view()
def improvement_detail(request, point_id: int):
    point = _point(request, point_id)
    can_edit = request.membership.has_role("reviewer")
    form = _form(request, instance=point)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Your role does not allow changes here.")
        # A fresh copy for the form: a failed validation must not change what the page shows.
        form = _form(request, request.POST, instance=_point(request, point.id))
        if form.is_valid():
            try:
                improvement_update(
                    point=point,
                    actor=request.user,
                    categories=form.cleaned_data["categories"],
                    **_fields(form),
                )
            except ValidationError as exc:
                _show_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("improvement-detail", slug=request.project.slug, point_id=point.id)
    context = {
        "point": point,
        "form": form,
        "categories": review_selectors.improvement_categories(point=point),
        "comments": review_selectors.comments_of(target=point),
        "comment_form": CommentForm(),
        "comment_url": request.path + "comments",
        "can_edit": can_edit,
        "section": "improvements",
    }
    return render(request, "triage/improvement_detail.html", context)


@require_POST
@project_view(role="reviewer")
def improvement_comment(request, point_id: int):
    point = _point(request, point_id)
    form = CommentForm(request.POST)
    comment = None
    if form.is_valid():
        try:
            comment = comment_add(target=point, author=request.user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    if request.headers.get("HX-Request") and comment:
        return render(request, "triage/_comment_added.html", {"comment": comment})
    return redirect("improvement-detail", slug=request.project.slug, point_id=point.id)


# --- weekly review --------------------------------------------------------------------------


@project_view()
def review_list(request):
    context = {
        "reviews": review_selectors.review_sessions(project=request.project),
        "can_edit": request.membership.has_role("reviewer"),
        "section": "reviews",
    }
    return render(request, "triage/review_list.html", context)


@require_POST
@project_view(role="reviewer")
def review_start(request):
    session, created = review_services.review_start(project=request.project, actor=request.user)
    if not created:
        messages.info(request, _("This week's review is already open."))
    return redirect("review-detail", slug=request.project.slug, review_id=session.id)


@project_view()
def review_detail(request, review_id: int):
    session = review_selectors.review_get(project=request.project, review_id=review_id)
    if session is None:
        raise Http404("No such review in this project.")
    members = selectors.project_members(project=request.project)
    can_edit = request.membership.has_role("reviewer") and session.closed_at is None
    form = ReviewForm(
        members=members,
        initial={"attendees": session.attendees.all(), "decisions": session.decisions},
    )
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Your role does not allow changes here.")
        form = ReviewForm(request.POST, members=members)
        if form.is_valid():
            review_services.review_record(
                session=session,
                actor=request.user,
                attendees=form.cleaned_data["attendees"],
                decisions=form.cleaned_data["decisions"],
            )
            if "close" in request.POST:
                review_services.review_close(session=session, actor=request.user)
                messages.success(request, _("Review closed; its agenda is kept as it stood."))
            else:
                messages.success(request, _("Saved."))
            return redirect("review-detail", slug=request.project.slug, review_id=session.id)
    agenda = more = frozen = None
    if session.closed_at is None:
        agenda = selectors.review_agenda(project=request.project, since=session.period_start)
        more = selectors.review_agenda_more(project=request.project, since=session.period_start)
    else:
        frozen = _frozen_agenda(session.agenda or {})
    context = {
        "session": session,
        "agenda": agenda,
        "more": more,
        "frozen": frozen,
        "form": form,
        "can_edit": can_edit,
        "states": ErrorCategory.State.choices,
        "teams": ErrorCategory.Team.choices,
        "section": "reviews",
    }
    return render(request, "triage/review_detail.html", context)


# Marked for the catalogue only: review_detail.html translates them when it shows them.
FROZEN_TITLES = {
    "regressed": gettext_noop("Regressed"),
    "new": gettext_noop("New categories"),
    "growing": gettext_noop("Growing"),
    "unowned": gettext_noop("Big categories without an owner"),
    "overdue": gettext_noop("Improvement points overdue"),
}


def _frozen_agenda(agenda: dict) -> list[dict]:
    """A closed review's agenda as it stood: each section with its entries (id and title, as
    frozen) and how many more it had."""
    more = agenda.get("more") or {}
    return [
        {
            "section": section,
            "title": title,
            "items": agenda.get(section) or [],
            "more": more.get(section, 0),
            "points": section == "overdue",
        }
        for section, title in FROZEN_TITLES.items()
        if section in agenda
    ]
