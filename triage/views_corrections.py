"""Reviewers' verdicts on customers' corrections, from the category page and the inbox: one
POST form per page (triage/_verdict_form.html), whose buttons on each item say which item and
which verdict. Back to the page it came from, at the item (static/js/verdicts.js focuses it)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import project_view

from .forms_inbox import CorrectionVerdictForm
from .services.correction_reviews import ACCEPT, REJECT, correction_verdict_set


def _back(request, feedback_id: int | None):
    fallback = reverse("inbox", args=[request.project.slug])
    target = request.POST.get("next", "")
    # Only a path of this site, never another host (an open redirect).
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = fallback
    target = target.split("#", 1)[0]
    return redirect(f"{target}#item-{feedback_id}" if feedback_id else target)


@require_POST
@project_view(role="reviewer")
def correction_verdict(request):
    form = CorrectionVerdictForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return _back(request, None)
    data = form.cleaned_data
    try:
        verdict = correction_verdict_set(
            project=request.project,
            feedback_id=data["item"],
            verdict=data["verdict"],
            label=data["label"],
            actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if data["verdict"] == ACCEPT:
            text = _("Accepted the customer's correction: %(label)s.")
        elif data["verdict"] == REJECT:
            text = _("Rejected the customer's correction: the model's %(label)s was right.")
        else:
            text = _("Relabelled: %(label)s.")
        messages.success(request, text % {"label": verdict.label})
    return _back(request, data["item"])
