"""The review board: categories in columns by state, changed in place with HTMX."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import project_view

from . import selectors
from . import selectors_categories as category_selectors
from .forms import AssignForm, BoardFilterForm, CommentForm, StateForm
from .models import ErrorCategory
from .services import board as board_services
from .services.comments import comment_add


def _filters(request) -> tuple[BoardFilterForm, dict]:
    form = BoardFilterForm(request.GET or None, project=request.project)
    data = form.cleaned_data if form.is_valid() else {}
    return form, {
        "model_version_id": data["version"].id if data.get("version") else None,
        "label": (data.get("label") or "").strip(),
        "owner_team": data.get("team") or "",
        "min_size": data.get("min_size"),
        "show": data.get("show") or "",
        "sort": data.get("sort") or "impact",
    }


# Cards shown per column; the rest load on demand ("show N more"). A meeting does not scan
# hundreds of cards, and a bounded page stays fast with 500 categories.
COLUMN_LIMIT = 40


@project_view()
def board(request):
    form, filters = _filters(request)
    categories = list(selectors.board_categories(project=request.project, **filters))
    by_state: dict[str, list] = {state: [] for state in selectors.BOARD_COLUMNS}
    for category in categories:
        by_state[category.state].append(category)
    expanded = request.GET.get("expand", "")
    columns = [
        (
            state,
            ErrorCategory.State(state).label,
            by_state[state] if state == expanded else by_state[state][:COLUMN_LIMIT],
            len(by_state[state]),
        )
        for state in selectors.BOARD_COLUMNS
    ]
    query = request.GET.copy()
    query.pop("expand", None)
    unsorted = category_selectors.unsorted_category(project=request.project)
    context = {
        "form": form,
        "columns": columns,
        "states": ErrorCategory.State.choices,
        "unsorted": unsorted,
        "can_edit": request.membership.has_role("reviewer"),
        "filtered": any(value for key, value in filters.items() if key != "sort"),
        "query": query.urlencode(),
        "section": "board",
        **_card_urls(request),
    }
    return render(request, "triage/board.html", context)


def _card_urls(request) -> dict:
    """URL prefix of category pages: cards append the id instead of reversing 3 URLs each."""
    return {"categories_url": reverse("category-list", args=[request.project.slug])}


def category_or_404(request, category_id: int) -> ErrorCategory:
    category = category_selectors.category_get(project=request.project, category_id=category_id)
    if category is None:
        raise Http404("No such category in this project.")
    return category


def _back(request, category):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("category-detail", slug=request.project.slug, category_id=category.id)


def triage_panel_context(request, category: ErrorCategory) -> dict:
    members = selectors.project_members(project=request.project)
    return {
        "category": category,
        "states": ErrorCategory.State.choices,
        "assign_form": AssignForm(
            members=members,
            initial={"owner_team": category.owner_team, "assignee": category.assignee_id},
        ),
        "suggested_team": category_selectors.suggested_owner_team(category=category),
        "can_edit": request.membership.has_role("reviewer"),
    }


def _respond(request, category: ErrorCategory, old_state: str | None = None):
    """HTMX gets the fragment that changed; a plain form post goes back where it came from."""
    if not request.headers.get("HX-Request"):
        return _back(request, category)
    if request.POST.get("from") == "category":
        return render(request, "triage/_triage_panel.html", triage_panel_context(request, category))
    if request.POST.get("from") == "agenda":
        context = {
            "category": category,
            "states": ErrorCategory.State.choices,
            "teams": ErrorCategory.Team.choices,
            "can_edit": True,
        }
        return render(request, "triage/_agenda_row.html", context)
    context = {
        "category": category,
        "states": ErrorCategory.State.choices,
        "can_edit": True,
        "moved": old_state is not None and old_state != category.state,
        "next_url": reverse("board", args=[request.project.slug]),
        **_card_urls(request),
    }
    return render(request, "triage/_card_response.html", context)


@require_POST
@project_view(role="reviewer")
def category_state(request, category_id: int):
    category = category_or_404(request, category_id)
    old_state = category.state
    form = StateForm(request.POST)
    if form.is_valid():
        try:
            board_services.category_set_state(
                category=category, state=form.cleaned_data["state"], actor=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return _respond(request, category, old_state)


@require_POST
@project_view(role="reviewer")
def category_assign(request, category_id: int):
    category = category_or_404(request, category_id)
    form = AssignForm(request.POST, members=selectors.project_members(project=request.project))
    if form.is_valid():
        assignee = form.cleaned_data["assignee"]
        try:
            board_services.category_assign(
                category=category,
                owner_team=form.cleaned_data["owner_team"],
                assignee=assignee,
                clear_assignee=assignee is None,
                actor=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, _("Choose a team and a member of this project."))
    return _respond(request, category)


@require_POST
@project_view(role="reviewer")
def category_comment(request, category_id: int):
    category = category_or_404(request, category_id)
    form = CommentForm(request.POST)
    comment = None
    if form.is_valid():
        try:
            comment = comment_add(
                target=category, author=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    if request.headers.get("HX-Request") and comment:
        return render(request, "triage/_comment_added.html", {"comment": comment})
    return _back(request, category)
