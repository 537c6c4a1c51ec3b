"""Alert rules: evaluate them on the rollups, open and resolve events, notify.

`alerts_evaluate` is what the beat task runs every few minutes. For each enabled rule it
reads the rollups of the rule's window (the last `window_hours` complete hours), computes the
metric over all model versions together, and

- opens an event when the metric breaches the threshold and no event of the rule is open
  (a partial unique constraint makes "no repeat firing while open" hold even for two passes
  at once);
- resolves the open event when the metric is back on the right side;
- changes nothing when the window has fewer predictions than the rule's minimum volume.

Notifications (email, webhook) go out after the transition is committed, and are recorded
on the event; a failed one is retried by the next passes up to MAX_DELIVERY_ATTEMPTS times, a
refused webhook (SSRF checks) is not retried.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.audit import audit
from core.mail import send_once
from core.public_urls import public_url
from feedback.models import Project

from .. import metrics, webhooks
from ..models import AlertEvent, AlertRule, DashboardSettings, MetricRollup

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# PSI rules compare the window's predicted labels with the days just before it.
PSI_REFERENCE = timedelta(days=7)
MAX_DELIVERY_ATTEMPTS = 3


@dataclass
class Reading:
    value: float | None
    predictions: int
    window_start: datetime
    window_end: datetime


def window_of(rule: AlertRule, at: datetime) -> tuple[datetime, datetime]:
    """The rule's window: the last `window_hours` complete hours before `at`."""
    end = at.replace(minute=0, second=0, microsecond=0)
    return end - rule.window_hours * HOUR, end


def rule_reading(*, rule: AlertRule, at: datetime) -> Reading:
    """The rule's metric over its window, from the rollups (one query)."""
    start, end = window_of(rule, at)
    since = start - PSI_REFERENCE if rule.metric == AlertRule.Metric.PSI else start
    fields = ["hour", "predictions", "corrections", "complaints"]
    if rule.metric in (AlertRule.Metric.TOP_LABEL_SHARE, AlertRule.Metric.PSI):
        fields.append("label_counts")
    if rule.metric == AlertRule.Metric.LATENCY_P95:
        fields.append("latency_sketch")
    if rule.segment_key:
        fields.append("segment_counts")
    rows = MetricRollup.objects.filter(
        project_id=rule.project_id, model_version__isnull=False, hour__gte=since, hour__lt=end
    ).values(*fields)
    n = k = complaints = 0
    labels: dict[str, int] = {}
    reference: dict[str, int] = {}
    sketches = []
    for row in rows:
        if row["hour"] < start:
            for label, count in (row.get("label_counts") or {}).items():
                reference[label] = reference.get(label, 0) + count
            continue
        if rule.segment_key:  # the slice's figures: [predictions, corrections, complaints...]
            figures = (row["segment_counts"].get(rule.segment_key) or {}).get(rule.segment_value)
            figures = figures or [0, 0, 0]
            row = {"predictions": figures[0], "corrections": figures[1], "complaints": figures[2]}
        n += row["predictions"]
        k += row["corrections"]
        complaints += row["complaints"]
        for label, count in (row.get("label_counts") or {}).items():
            labels[label] = labels.get(label, 0) + count
        if row.get("latency_sketch"):
            sketches.append(row["latency_sketch"])
    metric = rule.metric
    if metric == AlertRule.Metric.CORRECTION_RATE:
        value = metrics.rate(k, n)
    elif metric == AlertRule.Metric.COMPLAINT_RATE:
        value = metrics.rate(complaints, n)
    elif metric == AlertRule.Metric.TOP_LABEL_SHARE:
        top = metrics.top_share(labels)
        value = top[1] if top else None
    elif metric == AlertRule.Metric.PSI:
        value = metrics.psi_of_mappings(reference, labels)
    else:
        value = metrics.sketch_quantile(metrics.sketch_merge(*sketches), 0.95)
    return Reading(value=value, predictions=n, window_start=start, window_end=end)


@dataclass
class EvaluationResult:
    rules: int = 0
    opened: int = 0
    resolved: int = 0
    skipped_low_volume: int = 0
    notifications: int = 0


def rule_evaluate(*, rule: AlertRule, at: datetime) -> str:
    """Evaluate one rule at `at`: returns "opened", "resolved", "low_volume" or "" (no
    change). Transactional; notifications are left to `notifications_send`."""
    reading = rule_reading(rule=rule, at=at)
    if reading.predictions < rule.min_volume or reading.value is None:
        return "low_volume"
    breached = rule.breached(reading.value)
    with transaction.atomic():
        current = (
            AlertEvent.objects.select_for_update()
            .filter(rule=rule, status=AlertEvent.Status.OPEN)
            .first()
        )
        if current is not None:
            current.last_value, current.last_checked_at = reading.value, at
            if breached:
                current.save(update_fields=["last_value", "last_checked_at"])
                return ""
            current.status, current.resolved_at = AlertEvent.Status.RESOLVED, at
            current.save(update_fields=["status", "resolved_at", "last_value", "last_checked_at"])
            return "resolved"
        if not breached:
            return ""
        try:
            with transaction.atomic():
                AlertEvent.objects.create(
                    rule=rule,
                    project_id=rule.project_id,
                    opened_at=at,
                    value=reading.value,
                    predictions=reading.predictions,
                    window_start=reading.window_start,
                    window_end=reading.window_end,
                    last_value=reading.value,
                    last_checked_at=at,
                )
        except IntegrityError:  # another pass opened it a moment ago
            return ""
    return "opened"


def _pending(event: AlertEvent, rule: AlertRule) -> list[tuple[str, str]]:
    """(transition, channel) notifications still owed for an event."""
    transitions = ["opened"] + (["resolved"] if event.status == AlertEvent.Status.RESOLVED else [])
    channels = (["email"] if rule.emails else []) + (["webhook"] if rule.webhook_url else [])
    owed = []
    for transition in transitions:
        for channel in channels:
            tries = [
                d
                for d in event.deliveries
                if d.get("transition") == transition and d.get("channel") == channel
            ]
            done = any(d.get("ok") or d.get("refused") for d in tries)
            if not done and len(tries) < MAX_DELIVERY_ATTEMPTS:
                owed.append((transition, channel))
    return owed


def event_payload(event: AlertEvent, transition: str) -> dict:
    rule = event.rule
    # A webhook's receiver is a program: its description is always in English.
    with translation.override("en"):
        description = rule.describe()
    return {
        "event": transition,
        "project": rule.project.slug,
        "rule": {
            "id": rule.id,
            "name": rule.name,
            "description": description,
            "segment": {rule.segment_key: rule.segment_value} if rule.segment_key else None,
        },
        "status": event.status,
        "value": event.value if transition == "opened" else event.last_value,
        "threshold": rule.threshold,
        "predictions": event.predictions,
        "opened_at": event.opened_at.isoformat(),
        "resolved_at": event.resolved_at.isoformat() if event.resolved_at else None,
        "url": public_url(reverse("quality-alerts", args=[rule.project.slug])),
    }


def _send_email(event: AlertEvent, transition: str) -> webhooks.Delivery:
    rule = event.rule
    payload = event_payload(event, transition)
    value = payload["value"]
    names = {"project": rule.project.name, "rule": rule.name}
    # The recipients are addresses, not members with a language setting: the mail goes out
    # in the site's language (LANGUAGE_CODE).
    with translation.override(settings.LANGUAGE_CODE):
        if transition == "opened":
            subject = _("[%(project)s] FIRING: %(rule)s") % names
            headline = _("Alert rule “%(rule)s” of %(project)s is FIRING.") % names
        else:
            subject = _("[%(project)s] resolved: %(rule)s") % names
            headline = _("Alert rule “%(rule)s” of %(project)s is resolved.") % names
        when = "%Y-%m-%d %H:%M"
        lines = [
            headline,
            "",
            _("Rule: %(rule)s") % {"rule": rule.describe()},
            _("Value: %(value)s") % {"value": f"{value:.4g}"},
            _("Opened: %(time)s UTC") % {"time": event.opened_at.strftime(when)},
        ]
        if event.resolved_at:
            lines.append(_("Resolved: %(time)s UTC") % {"time": event.resolved_at.strftime(when)})
        body = "\n".join([*lines, "", payload["url"], ""])
    # One mail per recipient, each recorded as sent with it (core.mail): a pass that runs
    # again after a lost worker sends only what did not go out.
    try:
        for recipient in rule.emails:
            message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
            send_once(message, kind="alert", key=f"event:{event.id}:{transition}")
    except OSError as error:  # SMTP down: retried by the next pass
        return webhooks.Delivery(ok=False, detail=f"{type(error).__name__}: {error}"[:300])
    return webhooks.Delivery(ok=True)


def notifications_send(*, event: AlertEvent, resolver=webhooks.system_resolver) -> int:
    """Send what is owed for an event (email and/or webhook, per transition) and record each
    attempt on the event. Returns the number delivered."""
    rule = event.rule
    delivered = 0
    for transition, channel in _pending(event, rule):
        if channel == "email":
            result = _send_email(event, transition)
        else:
            allow_text = DashboardSettings.for_project(rule.project).webhook_allow_list
            try:
                allow = webhooks.AllowList.parse(allow_text)
            except ValueError:
                allow = webhooks.AllowList()
            result = webhooks.deliver(
                rule.webhook_url, event_payload(event, transition), allow=allow, resolver=resolver
            )
        delivered += int(result.ok)
        event.deliveries.append(
            {
                "transition": transition,
                "channel": channel,
                "ok": result.ok,
                "refused": result.refused,
                "status": result.status,
                "detail": result.detail,
                "at": timezone.now().isoformat(),
            }
        )
        AlertEvent.objects.filter(id=event.id).update(deliveries=event.deliveries)
    return delivered


def alerts_evaluate(
    *, at: datetime | None = None, project: Project | None = None
) -> EvaluationResult:
    """Evaluate every enabled rule (of one project, or all) at `at` (default now), then send
    the notifications owed. Idempotent: a second run at the same moment changes nothing."""
    at = at or timezone.now()
    result = EvaluationResult()
    rules = AlertRule.objects.filter(enabled=True).select_related("project")
    if project is not None:
        rules = rules.filter(project=project)
    for rule in rules:
        result.rules += 1
        outcome = rule_evaluate(rule=rule, at=at)
        result.opened += outcome == "opened"
        result.resolved += outcome == "resolved"
        result.skipped_low_volume += outcome == "low_volume"
    owed = AlertEvent.objects.select_related("rule__project").filter(
        rule__in=rules, opened_at__gte=at - timedelta(days=7)
    )
    for event in owed:
        if _pending(event, event.rule):
            result.notifications += notifications_send(event=event)
    if result.opened or result.resolved:
        logger.info("alerts: %s opened, %s resolved", result.opened, result.resolved)
    return result


def rule_backfill(*, rule: AlertRule, since: datetime, until: datetime) -> list[tuple]:
    """Evaluate a rule at every hour of [since, until) (five minutes past, as beat would have
    done live), for history loaded after the fact such as the demo's replay. Returns the
    transitions as (at, "opened" | "resolved"). Sends no notifications: they would announce
    the past as news. Only for a rule without events: evaluating past hours again could
    reopen an event that has been resolved since."""
    if rule.events.exists():
        raise ValueError(f"Rule {rule.id} already has events; its history cannot be replayed.")
    transitions = []
    at = since.replace(minute=5, second=0, microsecond=0)
    while at < until:
        outcome = rule_evaluate(rule=rule, at=at)
        if outcome in ("opened", "resolved"):
            transitions.append((at, outcome))
        at += HOUR
    return transitions


# --- rule management (the alerts page) --------------------------------------------------------


def rule_save(*, project: Project, actor, data: dict, rule: AlertRule | None = None) -> AlertRule:
    """Create or update a rule of `project` from validated form data; audited."""
    creating = rule is None
    rule = rule or AlertRule(project=project, created_by=actor)
    before = (
        {name: getattr(rule, name) for name in AlertRule.EDITABLE_FIELDS} if not creating else {}
    )
    for name in AlertRule.EDITABLE_FIELDS:
        setattr(rule, name, data[name])
    rule.full_clean()
    rule.save()
    audit(
        project=project,
        actor=actor,
        action="alert_rule_create" if creating else "alert_rule_update",
        target=rule,
        before=before,
        after={name: getattr(rule, name) for name in AlertRule.EDITABLE_FIELDS},
    )
    return rule


def rule_delete(*, rule: AlertRule, actor) -> None:
    audit(
        project=rule.project,
        actor=actor,
        action="alert_rule_delete",
        target=rule,
        before={name: getattr(rule, name) for name in AlertRule.EDITABLE_FIELDS},
    )
    rule.delete()


def allow_list_update(*, project: Project, actor, text: str) -> DashboardSettings:
    """Replace the project's webhook allow list (validated by AllowList.parse); audited."""
    webhooks.AllowList.parse(text)
    with transaction.atomic():
        current, _ = DashboardSettings.objects.select_for_update().get_or_create(project=project)
        before = current.webhook_allow_list
        current.webhook_allow_list = text.strip()
        current.updated_at = timezone.now()
        current.save(update_fields=["webhook_allow_list", "updated_at"])
        if before != current.webhook_allow_list:
            audit(
                project=project,
                actor=actor,
                action="webhook_allow_list_update",
                target=current,
                before={"webhook_allow_list": before},
                after={"webhook_allow_list": current.webhook_allow_list},
            )
    return current
