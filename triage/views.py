"""Team pages for error categories (the review board builds on these)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.models import AuditEvent
from feedback.access import project_view
from feedback.models import Feedback

from . import selectors
from .forms import CommentForm, ItemsActionForm, MergeForm, RenameForm
from .models import CategoryLineage, ClusteringRun, ErrorCategory
from .services import categories as category_services
from .services.clustering import clustering_run_request
from .services.verification import rate_before_and_after
from .views_board import triage_panel_context

ITEMS_PER_PAGE = 50


def _latest_runs(project):
    return ClusteringRun.objects.filter(project=project).defer("model_state")[:5]


@project_view()
def category_list(request):
    project = request.project
    categories = selectors.categories_for_project(project=project).order_by(
        "is_unsorted", "-size", "id"
    )
    context = {"categories": categories, "runs": _latest_runs(project), "section": "categories"}
    return render(request, "triage/category_list.html", context)


@project_view()
def run_status(request):
    """The run status panel alone, polled by HTMX while a run is active."""
    return render(request, "triage/_run_status.html", {"runs": _latest_runs(request.project)})


@require_POST
@project_view(role="reviewer")
def run_request(request):
    run, created = clustering_run_request(project=request.project, requested_by=request.user)
    if not created:
        messages.info(request, "A run is already queued or running; showing its progress.")
    if request.headers.get("HX-Request"):
        return run_status(request, slug=request.project.slug)
    return redirect("category-list", slug=request.project.slug)


def _category(request, category_id: int) -> ErrorCategory:
    return get_object_or_404(
        ErrorCategory.objects.select_related("assignee", "fixed_in_version", "merged_into"),
        id=category_id,
        project=request.project,
    )


@project_view()
def category_detail(request, category_id: int):
    category = _category(request, category_id)
    if category.merged_into_id:
        messages.info(request, f"This category was merged into “{category.merged_into.title}”.")
        return redirect(
            "category-detail", slug=request.project.slug, category_id=category.merged_into_id
        )
    paginator = Paginator(selectors.category_items(category=category), ITEMS_PER_PAGE)
    # Counted on the assignments alone (an index-only scan): the items query's join with
    # feedback made the count of a 200,000-item category cost 150 ms.
    paginator.count = selectors.category_item_count(category=category)
    page = paginator.get_page(request.GET.get("page"))
    representatives = {
        f.id: f
        for f in Feedback.objects.filter(
            id__in=category.representative_ids, project=request.project
        ).select_related("prediction")
    }
    context = {
        "category": category,
        "page": page,
        "representatives": [
            representatives[i] for i in category.representative_ids if i in representatives
        ],
        "rename_form": RenameForm(initial={"title": category.title}),
        "category_options": selectors.category_options(category=category),
        "items_form": ItemsActionForm(category=category, item_ids=[]),
        "lineage": CategoryLineage.objects.filter(child=category).select_related("parent", "actor")
        | CategoryLineage.objects.filter(parent=category).select_related("child", "actor"),
        "snapshots": category.snapshots.select_related("run").order_by("-run__created_at")[:12],
        "audit": AuditEvent.objects.filter(
            project=request.project, target_type="errorcategory", target_id=category.id
        ).select_related("actor")[:20],
        "can_edit": request.membership.has_role("reviewer"),
        "version_stats": category.version_stats.select_related("model_version").order_by(
            "model_version__released_at"
        ),
        "comments": category.comments.select_related("author"),
        "comment_form": CommentForm(),
        "comment_url": reverse("category-comment", args=[request.project.slug, category.id]),
        "improvements": category.improvements.select_related("done_in_version"),
        "section": "categories",
        **triage_panel_context(request, category),
    }
    if category.fixed_in_version_id:
        context["rate_before"], context["rate_after"] = rate_before_and_after(category)
    return render(request, "triage/category_detail.html", context)


def _back(request, category):
    return redirect("category-detail", slug=request.project.slug, category_id=category.id)


def _apply(request, category, action, success: str):
    try:
        result = action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return None
    messages.success(request, success)
    return result


@require_POST
@project_view(role="reviewer")
def category_rename(request, category_id: int):
    category = _category(request, category_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        _apply(
            request, category,
            lambda: category_services.category_rename(
                category=category, title=form.cleaned_data["title"], actor=request.user
            ),
            "Renamed. Later runs keep this title.",
        )  # fmt: skip
    else:
        messages.error(request, "A title is required (at most 200 characters).")
    return _back(request, category)


@require_POST
@project_view(role="reviewer")
def category_merge(request, category_id: int):
    category = _category(request, category_id)
    form = MergeForm(request.POST, category=category)
    if not form.is_valid():
        messages.error(request, "Choose a category of this project to merge into.")
        return _back(request, category)
    target = form.cleaned_data["target"]
    merged = _apply(
        request, category,
        lambda: category_services.category_merge(source=category, target=target, actor=request.user),
        f"Merged into “{target.title}”. Later runs keep them together.",
    )  # fmt: skip
    return _back(request, merged or category)


@require_POST
@project_view(role="reviewer")
def category_items_action(request, category_id: int):
    category = _category(request, category_id)
    item_ids = [int(v) for v in request.POST.getlist("items") if v.isdigit()]
    form = ItemsActionForm(request.POST, category=category, item_ids=item_ids)
    if not form.is_valid():
        messages.error(request, "Select items and an action (and a target category to move to).")
        return _back(request, category)
    data, actor = form.cleaned_data, request.user
    if data["action"] == "move":
        _apply(
            request, category,
            lambda: category_services.items_move(
                project=request.project, feedback_ids=data["items"], target=data["target"], actor=actor
            ),
            f"Moved {len(data['items'])} items to “{data['target'].title}” (pinned there).",
        )  # fmt: skip
    elif data["action"] == "split":
        child = _apply(
            request, category,
            lambda: category_services.category_split(
                category=category, feedback_ids=data["items"], actor=actor, title=data["title"]
            ),
            f"Split {len(data['items'])} items into a new category.",
        )  # fmt: skip
        if child:
            return _back(request, child)
    else:
        for feedback in Feedback.objects.filter(
            id__in=data["items"], project=request.project, assignment__category=category
        ):
            category_services.item_mark_not_error(feedback=feedback, actor=actor)
        messages.success(request, f"{len(data['items'])} items marked as not a model error.")
    return _back(request, category)
