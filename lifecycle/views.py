"""The Privacy page of a project, under /p/<slug>/privacy/ (project admins): erase a
customer's data, and follow the erasures."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import ADMIN, project_view

from .erasure import ErasureInvalid, erasure_get, erasure_request, erasures_recent
from .models import Erasure


class ErasureForm(forms.Form):
    customer_ref = forms.CharField(
        label=gettext_lazy("Customer reference"),
        max_length=200,
        strip=False,  # the reference as ingest got it (ingest does not trim it either)
        help_text=gettext_lazy(
            "Exactly as your service sends it with predictions and feedback "
            "(customer_ref). Only its keyed hash is kept."
        ),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that this customer's texts are erased for good."),
        required=True,
    )


@project_view(role=ADMIN)
def erasure_list(request):
    form = ErasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            erasure = erasure_request(
                project=request.project,
                customer_ref=form.cleaned_data["customer_ref"],
                source=Erasure.Source.PAGE,
                actor=request.user,
            )
        except ErasureInvalid as invalid:
            for name, errors in invalid.errors.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            messages.success(request, _("Erasure #%(id)s is queued.") % {"id": erasure.id})
            return redirect("erasure-detail", slug=request.project.slug, erasure_id=erasure.id)
    context = {
        "section": "privacy",
        "form": form,
        "erasures": erasures_recent(project=request.project),
    }
    return render(request, "lifecycle/privacy.html", context, status=400 if form.errors else 200)


@project_view(role=ADMIN)
def erasure_detail(request, erasure_id: int):
    erasure = erasure_get(project=request.project, erasure_id=erasure_id)
    if erasure is None:
        raise Http404("No such erasure in this project.")
    template = (
        "lifecycle/_erasure_status.html"
        if request.headers.get("HX-Request")
        else "lifecycle/erasure_detail.html"
    )
    return render(request, template, {"section": "privacy", "erasure": erasure})


@project_view(role=ADMIN)
def project_settings(request):
    """The project's settings page (admins): every part saved together, or none."""
    from .project_settings import settings_forms, settings_save

    parts = settings_forms(request.project, request.POST or None)
    if request.method == "POST" and all(form.is_valid() for form in parts.values()):
        changed = settings_save(project=request.project, forms_=parts, actor=request.user)
        messages.success(request, _("Saved.") if changed else _("Nothing changed."))
        return redirect("project-settings", slug=request.project.slug)
    return render(request, "lifecycle/settings.html", {"section": "settings", **parts})
