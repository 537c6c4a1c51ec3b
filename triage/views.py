"""Team pages for error categories (the review board builds on these)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.access import project_view

from . import selectors
from . import selectors_categories as category_selectors
from . import selectors_reviews as review_selectors
from .forms import CommentForm, ItemsActionForm, MergeForm, RenameForm
from .selectors_correction_reviews import correction_reviews_attach
from .services import categories as category_services
from .services.clustering import clustering_run_request
from .views_board import category_or_404, triage_panel_context

ITEMS_PER_PAGE = 50


@project_view()
def category_list(request):
    project = request.project
    categories = category_selectors.categories_listed(project=project)
    context = {
        "categories": categories,
        "runs": category_selectors.runs_latest(project=project),
        "section": "categories",
    }
    return render(request, "triage/category_list.html", context)


@project_view()
def run_status(request):
    """The run status panel alone, polled by HTMX while a run is active."""
    return render(
        request,
        "triage/_run_status.html",
        {"runs": category_selectors.runs_latest(project=request.project)},
    )


@require_POST
@project_view(role="reviewer")
def run_request(request):
    run, created = clustering_run_request(project=request.project, requested_by=request.user)
    if not created:
        messages.info(request, _("A run is already queued or running; showing its progress."))
    if request.headers.get("HX-Request"):
        return run_status(request, slug=request.project.slug)
    return redirect("category-list", slug=request.project.slug)


@project_view()
def category_detail(request, category_id: int):
    category = category_or_404(request, category_id)
    if category.merged_into_id:
        messages.info(
            request,
            _("This category was merged into “%(title)s”.") % {"title": category.merged_into.title},
        )
        return redirect(
            "category-detail", slug=request.project.slug, category_id=category.merged_into_id
        )
    paginator = Paginator(selectors.category_items(category=category), ITEMS_PER_PAGE)
    # Counted on the assignments alone (an index-only scan): the items query's join with
    # feedback made the count of a 200,000-item category cost 150 ms.
    paginator.count = selectors.category_item_count(category=category)
    page = paginator.get_page(request.GET.get("page"))
    # The model's scores, the likely-wrong flag and verdicts of the page's items (2 queries).
    page.object_list = correction_reviews_attach(
        items=list(page.object_list), reviewer=request.user.get_username()
    )
    context = {
        "category": category,
        "page": page,
        "representatives": category_selectors.category_representatives(category=category),
        "rename_form": RenameForm(initial={"title": category.title}),
        "category_options": selectors.category_options(category=category),
        "items_form": ItemsActionForm(category=category, item_ids=[]),
        "lineage": category_selectors.category_lineage(category=category),
        "snapshots": category_selectors.category_snapshots(category=category),
        "audit": category_selectors.category_audit(category=category),
        "can_edit": request.membership.has_role("reviewer"),
        "can_judge": request.membership.has_role("reviewer"),
        "verdict_labels": sorted(request.project.labels or []),
        "version_stats": category_selectors.category_version_stats(category=category),
        "segment_mix": category_selectors.category_segment_mix(category=category),
        "comments": review_selectors.comments_of(target=category),
        "comment_form": CommentForm(),
        "comment_url": reverse("category-comment", args=[request.project.slug, category.id]),
        "improvements": category_selectors.category_improvements(category=category),
        "section": "categories",
        **triage_panel_context(request, category),
    }
    if category.fixed_in_version_id:
        context["rate_before"], context["rate_after"] = category_selectors.rate_before_and_after(
            category
        )
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
    category = category_or_404(request, category_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        _apply(
            request, category,
            lambda: category_services.category_rename(
                category=category, title=form.cleaned_data["title"], actor=request.user
            ),
            _("Renamed. Later runs keep this title."),
        )  # fmt: skip
    else:
        messages.error(request, _("A title is required (at most 200 characters)."))
    return _back(request, category)


@require_POST
@project_view(role="reviewer")
def category_merge(request, category_id: int):
    category = category_or_404(request, category_id)
    form = MergeForm(request.POST, category=category)
    if not form.is_valid():
        messages.error(request, _("Choose a category of this project to merge into."))
        return _back(request, category)
    target = form.cleaned_data["target"]
    merged = _apply(
        request, category,
        lambda: category_services.category_merge(source=category, target=target, actor=request.user),
        _("Merged into “%(title)s”. Later runs keep them together.") % {"title": target.title},
    )  # fmt: skip
    return _back(request, merged or category)


@require_POST
@project_view(role="reviewer")
def category_items_action(request, category_id: int):
    category = category_or_404(request, category_id)
    item_ids = [int(v) for v in request.POST.getlist("items") if v.isdigit()]
    form = ItemsActionForm(request.POST, category=category, item_ids=item_ids)
    if not form.is_valid():
        messages.error(request, _("Select items and an action (and a target category to move to)."))
        return _back(request, category)
    data, actor = form.cleaned_data, request.user
    if data["action"] == "move":
        _apply(
            request, category,
            lambda: category_services.items_move(
                project=request.project, feedback_ids=data["items"], target=data["target"], actor=actor
            ),
            ngettext(
                "Moved %(count)d item to “%(title)s” (pinned there).",
                "Moved %(count)d items to “%(title)s” (pinned there).",
                len(data["items"]),
            ) % {"count": len(data["items"]), "title": data["target"].title},
        )  # fmt: skip
    elif data["action"] == "split":
        child = _apply(
            request, category,
            lambda: category_services.category_split(
                category=category, feedback_ids=data["items"], actor=actor, title=data["title"]
            ),
            ngettext(
                "Split %(count)d item into a new category.",
                "Split %(count)d items into a new category.",
                len(data["items"]),
            ) % {"count": len(data["items"])},
        )  # fmt: skip
        if child:
            return _back(request, child)
    else:
        category_services.items_mark_not_error(
            category=category, feedback_ids=data["items"], actor=actor
        )
        messages.success(
            request,
            ngettext(
                "%(count)d item marked as not a model error.",
                "%(count)d items marked as not a model error.",
                len(data["items"]),
            )
            % {"count": len(data["items"])},
        )
    return _back(request, category)
