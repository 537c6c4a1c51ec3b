"""The team inbox: every piece of feedback as it arrives, and one item with its prediction."""

import json

from django.http import Http404, QueryDict
from django.shortcuts import render

from core.access import project_view

from .forms_inbox import KNOWN_SOURCES, InboxFilterForm
from .selectors_correction_reviews import correction_reviews_attach
from .selectors_inbox import Cursor, feedback_detail_get, inbox_page


@project_view()
def inbox(request):
    project = request.project
    form = InboxFilterForm(request.GET or None, project=project)
    if form.is_bound:
        form.is_valid()
    page = inbox_page(
        project=project,
        filters=form.filters(),
        older_than=Cursor.decode(request.GET.get("older")),
        newer_than=Cursor.decode(request.GET.get("newer")),
    )
    page.items = correction_reviews_attach(items=page.items, reviewer=request.user.get_username())
    query = request.GET.copy()
    for key in ("older", "newer"):
        query.pop(key, None)
    context = {
        "section": "inbox",
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "here": request.GET.urlencode(),
        "known_sources": KNOWN_SOURCES,
        "can_judge": request.membership.has_role("reviewer"),
        "verdict_labels": sorted(project.labels or []),
    }
    # HTMX filter changes and page links swap only the results.
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "inbox-results":
        return render(request, "triage/_inbox_results.html", context)
    return render(request, "triage/inbox.html", context)


def _scores(prediction, project) -> list[dict]:
    scores = prediction.scores if isinstance(prediction.scores, dict) else {}
    ranked = sorted(
        ((label, value) for label, value in scores.items() if isinstance(value, int | float)),
        key=lambda pair: -pair[1],
    )
    return [
        {
            "label": label,
            "name": project.label_display(label),
            "value": value,
            "percent": max(0.0, min(100.0, value * 100)),
            "predicted": label == prediction.predicted_label,
        }
        for label, value in ranked[:20]
    ]


def _pretty(value) -> str:
    # Shown in <pre>, autoescaped like every other customer-supplied value.
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) if value else ""


@project_view()
def feedback_detail(request, feedback_id: int):
    project = request.project
    detail = feedback_detail_get(project=project, feedback_id=feedback_id)
    if detail is None:
        raise Http404("No such feedback in this project.")
    prediction = detail.prediction
    context = {
        "predicted_name": project.label_display(prediction.predicted_label) if prediction else "",
        "input_data": _pretty(prediction.input_data) if prediction else "",
        "metadata": _pretty(prediction.metadata) if prediction else "",
        "section": "inbox",
        "detail": detail,
        "item": detail.feedback,
        "prediction": prediction,
        "scores": _scores(prediction, project) if prediction else [],
        # The inbox query to return to, re-encoded: only ever a query string, never a URL.
        "back": QueryDict(request.GET.get("back", "")[:2000]).urlencode(),
    }
    return render(request, "triage/feedback_detail.html", context)
