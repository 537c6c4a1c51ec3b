"""The online quality overview of a project, under /p/<slug>/quality/."""

import csv

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from feedback.access import project_view
from feedback.imports import neutralise
from feedback.models import Membership

from .forms import OverviewForm, SettingsForm
from .models import DashboardSettings
from .selectors_overview import overview_build, section_table
from .services.settings import settings_update

# Small tables read at a glance are shown open; long ones behind their summary.
OPEN_TABLES = {"offline-online", "service"}


@project_view()
def overview(request):
    project = request.project
    form = OverviewForm(request.GET or None, project=project)
    if form.is_bound:
        form.is_valid()
    query = form.query()
    data = overview_build(project=project, query=query)
    section = request.GET.get("csv")
    if section:
        return _csv_response(project, data, section, query)
    for item in data["sections"]:
        item["chart_id"] = f"chart-{item['id']}"
        item["open_table"] = item["id"] in OPEN_TABLES
        for key in ("table", "precision_table", "threshold_table"):
            if key in item:
                table = item[key]
                table["display"] = list(
                    zip(
                        table["rows"],
                        table.get("flags") or [False] * len(table["rows"]),
                        strict=True,
                    )
                )
    params = request.GET.copy()
    params.pop("csv", None)
    is_admin = request.membership.has_role(Membership.Role.ADMIN)
    context = {
        "form": form,
        "settings_form": SettingsForm(instance=data["settings"]) if is_admin else None,
        "query": query,
        "data": data,
        "section": "quality",
        "base_query": params.urlencode(),
    }
    return render(request, "dashboards/overview.html", context)


def _csv_response(project, data, section_id, query) -> HttpResponse:
    table = section_table(data, section_id)
    if table is None:
        raise Http404("No such table.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{project.slug}-{section_id}-{query.since:%Y%m%d}-{query.until:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow(table["columns"])
    for row in table["rows"]:
        # Labels and versions come from outside: never let a spreadsheet run them.
        writer.writerow([neutralise(cell) if isinstance(cell, str) else cell for cell in row])
    return response


@require_POST
@project_view(Membership.Role.ADMIN)
def settings_edit(request):
    project = request.project
    form = SettingsForm(request.POST, instance=DashboardSettings.for_project(project))
    if not form.is_valid():
        errors = "; ".join(
            f"{form.fields[name].label}: {' '.join(problems)}"
            for name, problems in form.errors.items()
        )
        messages.error(request, f"Settings not saved. {errors}")
    else:
        settings_update(
            project=project,
            actor=request.user,
            sla_latency_p95_ms=form.cleaned_data["sla_latency_p95_ms"],
            target_correction_rate=form.cleaned_data["target_correction_rate"],
        )
        messages.success(request, "Dashboard settings saved.")
    return redirect("quality-overview", slug=project.slug)
