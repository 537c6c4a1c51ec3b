"""The online quality overview of a project, under /p/<slug>/quality/."""

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_POST

from core.access import project_view
from core.csv_safe import neutralise_cell
from feedback.models import Membership

from .forms import AlertRuleForm, AllowListForm, OverviewForm, SettingsForm
from .quality.display import section_display
from .quality.overview import overview_build
from .quality.segment_tables import segments_section
from .quality.tables import section_table
from .selectors import (
    alert_events_for,
    alert_events_open_count,
    alert_rule_get,
    alert_rules_for,
    dashboard_settings,
)
from .services import alerts as alerts_service
from .services.segments import segments_report
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
    totals, found = segments_report(
        project=project,
        since=query.since,
        until=query.until,
        known_versions=query.versions or query.all_versions(project),
    )
    segments = segments_section(totals, found)
    section = request.GET.get("csv")
    if section == "segments":
        return _csv_response(project, {"sections": [segments]}, section, query)
    if section:
        return _csv_response(project, data, section, query)
    for item in data["sections"]:
        item["chart_id"] = f"chart-{item['id']}"
        item["open_table"] = item["id"] in OPEN_TABLES
        section_display(item)
    params = request.GET.copy()
    params.pop("csv", None)
    is_admin = request.membership.has_role(Membership.Role.ADMIN)
    context = {
        "form": form,
        "settings_form": SettingsForm(instance=data["settings"]) if is_admin else None,
        "query": query,
        "data": data,
        "segments": segments,
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
    # A download is read by scripts: the same English words whatever the reader's language
    # (a drift reference is a lazy message).
    with translation.override("en"):
        for row in table["rows"]:
            # Labels and versions come from outside: never let a spreadsheet run them.
            writer.writerow([neutralise_cell(_plain(cell)) for cell in row])
    return response


def _plain(cell):
    return str(cell) if isinstance(cell, Promise) else cell


@require_POST
@project_view(Membership.Role.ADMIN)
def settings_edit(request):
    project = request.project
    form = SettingsForm(request.POST, instance=dashboard_settings(project=project))
    if not form.is_valid():
        errors = "; ".join(
            f"{form.fields[name].label}: {' '.join(problems)}"
            for name, problems in form.errors.items()
        )
        messages.error(request, _("Settings not saved. %(errors)s") % {"errors": errors})
    else:
        settings_update(
            project=project,
            actor=request.user,
            sla_latency_p95_ms=form.cleaned_data["sla_latency_p95_ms"],
            target_correction_rate=form.cleaned_data["target_correction_rate"],
            segment_ignore_keys=form.cleaned_data["segment_ignore_keys"],
        )
        messages.success(request, _("Dashboard settings saved."))
    return redirect("quality-overview", slug=project.slug)


# --- alerts ----------------------------------------------------------------------------------

EVENTS_SHOWN = 100


def _form_errors(form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else name}: {' '.join(problems)}"
        for name, problems in form.errors.items()
    )


def _rule_or_404(request, rule_id):
    rule = alert_rule_get(project=request.project, rule_id=rule_id)
    if rule is None:
        raise Http404("No such alert rule.")
    return rule


# A notification attempt as the events table says it: which transition, which channel, how
# it went (the detail, an error text from outside, is shown as it is).
TRANSITIONS = {
    "opened": gettext_lazy("opened"),
    "resolved": gettext_lazy("resolved"),
}
CHANNELS = {
    "email": gettext_lazy("email"),
    "webhook": gettext_lazy("webhook"),
}
OUTCOMES = {
    "sent": gettext_noop("%(transition)s %(channel)s: sent"),
    "refused": gettext_noop("%(transition)s %(channel)s: refused"),
    "failed": gettext_noop("%(transition)s %(channel)s: failed"),
}


def _delivery_summary(delivery: dict) -> str:
    outcome = "sent" if delivery.get("ok") else "refused" if delivery.get("refused") else "failed"
    transition, channel = delivery.get("transition", ""), delivery.get("channel", "")
    return _(OUTCOMES[outcome]) % {
        "transition": TRANSITIONS.get(transition, transition),
        "channel": CHANNELS.get(channel, channel),
    }


def _alerts_page(request, *, rule_form=None, editing=None, allow_form=None, status=200):
    project = request.project
    is_admin = request.membership.has_role(Membership.Role.ADMIN)
    settings = dashboard_settings(project=project)
    events = alert_events_for(project=project, limit=EVENTS_SHOWN)
    for event in events:
        for delivery in event.deliveries:
            delivery["summary"] = _delivery_summary(delivery)
    context = {
        "section": "quality",
        "rules": alert_rules_for(project=project),
        "events": events,
        "open_count": alert_events_open_count(project=project),
        "is_admin": is_admin,
        "editing": editing,
        "rule_form": (rule_form or AlertRuleForm(instance=editing)) if is_admin else None,
        "allow_form": (
            allow_form or AllowListForm(initial={"webhook_allow_list": settings.webhook_allow_list})
        )
        if is_admin
        else None,
        "settings": settings,
    }
    return render(request, "dashboards/alerts.html", context, status=status)


@project_view()
def alerts(request):
    """Rules and events; admins create rules here (POST)."""
    if request.method == "POST":
        if not request.membership.has_role(Membership.Role.ADMIN):
            raise PermissionDenied("Only project admins manage alert rules.")
        form = AlertRuleForm(request.POST)
        if not form.is_valid():
            messages.error(
                request, _("Rule not saved. %(errors)s") % {"errors": _form_errors(form)}
            )
            return _alerts_page(request, rule_form=form, status=400)
        rule = alerts_service.rule_save(
            project=request.project, actor=request.user, data=form.cleaned_data
        )
        messages.success(request, _("Rule “%(name)s” created.") % {"name": rule.name})
        return redirect("quality-alerts", slug=request.project.slug)
    return _alerts_page(request)


@project_view(Membership.Role.ADMIN)
def alert_rule_edit(request, rule_id):
    rule = _rule_or_404(request, rule_id)
    if request.method == "POST":
        # The form edits its own copy: a rejected edit must not show in the page's `editing`.
        form = AlertRuleForm(request.POST, instance=_rule_or_404(request, rule_id))
        if not form.is_valid():
            messages.error(
                request, _("Rule not saved. %(errors)s") % {"errors": _form_errors(form)}
            )
            return _alerts_page(request, rule_form=form, editing=rule, status=400)
        alerts_service.rule_save(
            project=request.project, actor=request.user, data=form.cleaned_data, rule=rule
        )
        messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
        return redirect("quality-alerts", slug=request.project.slug)
    return _alerts_page(request, editing=rule)


@require_POST
@project_view(Membership.Role.ADMIN)
def alert_rule_delete(request, rule_id):
    rule = _rule_or_404(request, rule_id)
    name = rule.name
    alerts_service.rule_delete(rule=rule, actor=request.user)
    messages.success(request, _("Rule “%(name)s” and its events deleted.") % {"name": name})
    return redirect("quality-alerts", slug=request.project.slug)


@require_POST
@project_view(Membership.Role.ADMIN)
def alert_allow_list(request):
    form = AllowListForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Allow list not saved. %(errors)s") % {"errors": _form_errors(form)}
        )
        return _alerts_page(request, allow_form=form, status=400)
    alerts_service.allow_list_update(
        project=request.project, actor=request.user, text=form.cleaned_data["webhook_allow_list"]
    )
    messages.success(request, _("Webhook allow list saved."))
    return redirect("quality-alerts", slug=request.project.slug)
