"""The labelling page of the review queue: one prediction at a time, keyboard first (digits
pick a suggested label, / searches the label set, s skips, Enter confirms, u undoes)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import project_view

from .models import ErrorCategory
from .selectors_review_queue import (
    review_queue_categories,
    review_queue_claim,
    review_queue_remaining,
    suggested_labels,
)
from .services.reviewer_labels import reviewer_label_record, reviewer_label_undo

# The scores shown beside the model's answer.
TOP_SCORES = 5


def _category_id(request) -> int | None:
    raw = request.GET.get("category") or request.POST.get("category") or ""
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _back(request, category_id: int | None):
    url = reverse("review-queue", args=[request.project.slug])
    return redirect(f"{url}?category={category_id}" if category_id else url)


@project_view(role="reviewer")
def review_queue(request):
    project = request.project
    category_id = _category_id(request)
    entry = review_queue_claim(project=project, user=request.user, category_id=category_id)
    context = {
        "section": "review-queue",
        "entry": entry,
        "category_id": category_id,
        "categories": review_queue_categories(project=project),
        "remaining": review_queue_remaining(project=project, category_id=category_id),
        "labels": sorted(project.labels or []),
    }
    if entry is not None:
        prediction = entry.prediction
        scores = sorted(
            ((label, value) for label, value in (prediction.scores or {}).items()
             if isinstance(value, int | float)),
            key=lambda item: -item[1],
        )[:TOP_SCORES]  # fmt: skip
        context.update(
            prediction=prediction,
            scores=scores,
            suggested=suggested_labels(
                entry.category, prediction.predicted_label, entry.neighbour_labels
            ),
        )
    return render(request, "triage/review_queue.html", context)


@require_POST
@project_view(role="reviewer")
def review_queue_label(request):
    project = request.project
    category_id = _category_id(request)
    skip = "skip" in request.POST
    # A label typed into the search box wins over a suggested one left checked.
    typed = (request.POST.get("other") or "").strip()
    label = "" if skip else (typed or request.POST.get("label") or "").strip()
    if not skip and not label:
        messages.error(request, _("Pick a label, or skip."))
        return _back(request, category_id)
    category = ErrorCategory.objects.filter(project=project, id=category_id).first()
    result = reviewer_label_record(
        project=project,
        user=request.user,
        request_id=request.POST.get("request_id", ""),
        label=label,
        category=category,
    )
    if result.rejected:
        errors = result.rejected[0]["errors"]
        messages.error(request, " ".join(str(m) for ms in errors.values() for m in ms))
    return _back(request, category_id)


@require_POST
@project_view(role="reviewer")
def review_queue_undo(request):
    undone = reviewer_label_undo(project=request.project, user=request.user)
    if undone is None:
        messages.info(request, _("Nothing to undo."))
    return _back(request, _category_id(request))
