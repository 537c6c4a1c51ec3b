"""Server-rendered pages of the feedback app: the team's home and the customer's page."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.access import project_view, projects_for_user

from . import customer_page, links, ratelimit
from .forms import SAVE_FAILED, DetailsForm, RatingForm, label_options
from .framing import frame_ancestors
from .selectors import prediction_for_link, project_frame_ancestors, widget_state_get

logger = logging.getLogger(__name__)


@login_required
def home(request):
    projects = projects_for_user(request.user)
    return render(request, "feedback/home.html", {"projects": projects})


@project_view()
def project_home(request):
    project = request.project
    context = {"section": "overview", "versions": project.model_versions.order_by("-released_at")}
    return render(request, "feedback/project_home.html", context)


# --- the customer's page ---------------------------------------------------------------------

SENT_MESSAGES = ("up", "down", "details")


def _customer_page(
    request, template, context, *, status=200, embed=False, project=None, project_id=None
):
    """Render a customer page; embedded, it may be framed by the project's allowed origins
    only (CSP frame-ancestors; X-Frame-Options is dropped for that response alone)."""
    response = render(request, template, {"embed": embed, **context}, status=status)
    if embed and (project is not None or project_id is not None):
        if project is None:
            setting = project_frame_ancestors(project_id=project_id)
        else:
            setting = project.frame_ancestors
        origins = frame_ancestors(setting)
        if origins:
            response.csp_frame_ancestors = origins
            response.xframe_options_exempt = True
    return response


def _rate_limited(request, claims: links.LinkClaims | None):
    """The 429 decision for this request: per client address (every request, valid link or
    not) and per link (its prediction: all tokens of one prediction share the count)."""
    address = ratelimit.client_address(request)
    checks = [(f"address:{address}", settings.VOC_FEEDBACK_RATE_PER_ADDRESS)]
    if claims is not None:
        link_key = f"link:{claims.project_id}:{claims.prediction_id}"
        checks.append((link_key, settings.VOC_FEEDBACK_RATE_PER_TOKEN))
    for key, (limit, window) in checks:
        decision = ratelimit.rate_limit_hit(key=f"feedback-page:{key}", limit=limit, window=window)
        if not decision.allowed:
            return decision
    return None


def _same_origin(request) -> bool:
    """A browser's form post carries Origin; it must be this site (an embedded page posts to
    its own origin too). Without the header (older browsers) the form key decides alone."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return True
    own = f"{request.scheme}://{request.get_host()}"
    return origin == own or origin in settings.CSRF_TRUSTED_ORIGINS


def _redirect_sent(request, sent: str, embed: bool):
    query = {"sent": sent, **({"embed": "1"} if embed else {})}
    anchor = "#details" if sent == "down" else ""
    return HttpResponseRedirect(f"{request.path}?{urlencode(query)}{anchor}", status=303)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def feedback_form(request, token: str):
    """The customer's page behind a feedback link: no login, the signed token is the key.

    CSRF: Django's check needs a cookie, which browsers withhold from a page embedded on
    another site, so this page carries its own: each form holds a signed key bound to the
    link's prediction and valid for a day (`links.form_key_create`), and a post whose Origin
    header names another site is refused. The page holds no session and no ambient
    credential, so a forged post could do no more than the link's holder can.
    """
    embed = request.GET.get("embed") == "1"
    try:
        claims = links.link_token_verify(token)
    except links.LinkExpired as expired:
        if limit := _rate_limited(request, None):
            return _too_many(request, limit, embed=False)
        return _customer_page(
            request,
            "feedback/link_invalid.html",
            {"expired": True},
            status=410,
            project_id=expired.claims.project_id,
            embed=embed,
        )
    except links.LinkInvalid:
        claims = None
    if limit := _rate_limited(request, claims):
        return _too_many(request, limit, embed=embed, project_id=claims and claims.project_id)
    prediction = prediction_for_link(claims=claims) if claims else None
    if prediction is None:
        return _customer_page(request, "feedback/link_invalid.html", {}, status=404)
    if request.method != "POST":
        return _page(request, claims, prediction, embed=embed)
    if not _same_origin(request) or not links.form_key_valid(
        request.POST.get("form_key", ""), claims
    ):
        return _customer_page(
            request,
            "feedback/form_stale.html",
            {"retry_url": request.get_full_path()},
            status=403,
            project=prediction.project,
            embed=embed,
        )
    if request.POST.get("action") == "rate":
        return _post_rating(request, claims, prediction, embed=embed)
    return _post_details(request, claims, prediction, embed=embed)


def _post_rating(request, claims, prediction, *, embed: bool):
    form = RatingForm(request.POST)
    if form.filled_honeypot:  # looks like success to the bot; nothing is stored
        logger.info("honeypot filled on the feedback page of prediction %s", prediction.id)
        return _redirect_sent(request, "up", embed)
    if form.is_valid():
        rating = form.cleaned_data["rating"]
        try:
            customer_page.widget_rating_set(prediction=prediction, rating=rating)
        except customer_page.WidgetRejected:
            form.add_error(None, SAVE_FAILED)
        else:
            return _redirect_sent(request, "up" if rating == 1 else "down", embed)
    return _page(request, claims, prediction, embed=embed, rating_form=form)


def _post_details(request, claims, prediction, *, embed: bool):
    form = DetailsForm(
        request.POST, project=prediction.project, predicted_label=prediction.predicted_label
    )
    if form.filled_honeypot:
        logger.info("honeypot filled on the feedback page of prediction %s", prediction.id)
        return _redirect_sent(request, "details", embed)
    if form.is_valid():
        try:
            customer_page.widget_details_set(
                prediction=prediction,
                corrected_label=form.cleaned_data["corrected_label"],
                text=form.cleaned_data["text"],
            )
        except customer_page.WidgetRejected:
            form.add_error(None, SAVE_FAILED)
        else:
            return _redirect_sent(request, "details", embed)
    return _page(request, claims, prediction, embed=embed, details_form=form)


def _page(request, claims, prediction, *, embed: bool, rating_form=None, details_form=None):
    """The page with what the customer sent so far; a form given is one that failed (400)."""
    project = prediction.project
    state = widget_state_get(prediction_id=prediction.id)
    for item in state.history:
        item.display_label = project.label_display(item.corrected_label)
    form_key = links.form_key_create(claims)
    current_label = state.correction.corrected_label if state.correction else ""
    failed = rating_form is not None or details_form is not None
    if rating_form is None:
        rating_form = RatingForm(initial={"form_key": form_key})
    if details_form is None:
        shown = project.label_display(current_label) if project.has_label_set else current_label
        details_form = DetailsForm(
            initial={
                "form_key": form_key,
                "corrected_label": shown if current_label else "",
                "text": state.text,
            },
            project=project,
            predicted_label=prediction.predicted_label,
        )
    sent = request.GET.get("sent")
    context = {
        "project": project,
        "prediction": prediction,
        "predicted_display": project.label_display(prediction.predicted_label),
        "rating_form": rating_form,
        "details_form": details_form,
        "form_key": form_key,
        "state": state,
        "current_label_display": project.label_display(current_label) if current_label else "",
        "options": [o for o in label_options(project) if o[0] != prediction.predicted_label],
        "sent": sent if sent in SENT_MESSAGES and not failed else "",
        "query": "?embed=1" if embed else "",
    }
    status = 400 if failed else 200
    return _customer_page(
        request, "feedback/page.html", context, status=status, project=project, embed=embed
    )


def _too_many(request, decision: ratelimit.RateLimit, *, embed: bool, project_id=None):
    response = _customer_page(
        request,
        "feedback/rate_limited.html",
        {"minutes": max(1, round(decision.retry_after / 60))},
        status=429,
        project_id=project_id,
        embed=embed,
    )
    response["Retry-After"] = str(decision.retry_after)
    return response
