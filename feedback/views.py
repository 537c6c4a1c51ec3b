"""Server-rendered pages of the feedback app: the team's home and the customer's page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from . import links, services
from .access import project_view, projects_for_user
from .forms import CustomerFeedbackForm
from .models import Prediction


@login_required
def home(request):
    projects = projects_for_user(request.user)
    return render(request, "feedback/home.html", {"projects": projects})


@project_view()
def project_home(request):
    project = request.project
    context = {"versions": project.model_versions.order_by("-released_at")}
    return render(request, "feedback/project_home.html", context)


def _prediction_for_token(token: str) -> Prediction | None:
    try:
        claims = links.link_token_verify(token)
    except links.LinkInvalid:
        return None
    return (
        Prediction.objects.select_related("project", "model_version")
        .filter(id=claims.prediction_id, project_id=claims.project_id)
        .first()
    )


@require_http_methods(["GET", "POST"])
def feedback_form(request, token: str):
    """The customer's page behind a feedback link: no login, the signed token is the key."""
    prediction = _prediction_for_token(token)
    if prediction is None:
        return render(request, "feedback/link_invalid.html", status=404)
    project = prediction.project
    form = CustomerFeedbackForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        result = services.feedback_ingest(
            project=project,
            items=form.feedback_items(request_id=prediction.request_id),
            default_source="widget",
        )
        if not result.rejected:
            return render(request, "feedback/thanks.html", {"project": project})
        for rejection in result.rejected:
            for field, messages in rejection["errors"].items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
    context = {
        "form": form,
        "project": project,
        "prediction": prediction,
        "predicted_display": project.label_display(prediction.predicted_label),
    }
    return render(request, "feedback/form.html", context, status=400 if form.errors else 200)
