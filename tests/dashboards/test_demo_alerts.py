"""The demo's alert rule: after `load_demo`, `load_demo_alerts` (what `make run` does) leaves a
correction-rate rule whose evaluation over the replay's history opened one event on the
incident day and resolved it when the day had passed, as beat would have done live."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from dashboards.models import AlertEvent, AlertRule
from dashboards.selectors import rollups_for
from feedback.models import Project
from tests.helpers import login

pytestmark = pytest.mark.django_db

END = datetime(2025, 6, 2, tzinfo=UTC)
# The replay's incident (feedback/replay.py): the ninth day after the start, for one day.
START = END - timedelta(weeks=6)
INCIDENT = (START + timedelta(days=9), START + timedelta(days=10))


def test_the_demo_has_an_alert_rule_with_the_incident_opened_and_resolved(figures):
    call_command("load_demo", "--end", END.date().isoformat(), "--user", "")
    project = Project.objects.get(slug="banking77")
    call_command("load_demo_alerts", "banking77")

    (rule,) = AlertRule.objects.filter(project=project)
    assert rule.metric == "correction_rate" and rule.enabled
    # The rule is sensible, not tuned to fire: its threshold is well above the replay's
    # normal correction rate (every day but the incident's).
    n = k = 0
    for row in rollups_for(project=project).values("hour", "predictions", "corrections"):
        if not INCIDENT[0] <= row["hour"] < INCIDENT[1]:
            n, k = n + row["predictions"], k + row["corrections"]
    normal = k / n
    assert rule.threshold >= 1.3 * normal and rule.window_hours == 24 and rule.min_volume > 1

    (event,) = AlertEvent.objects.filter(rule=rule)
    figures.update(
        threshold=rule.threshold, normal_correction_rate=round(normal, 4),
        value_at_opening=round(event.value, 4), opened_at=event.opened_at.isoformat(),
        resolved_at=str(event.resolved_at),
    )  # fmt: skip
    assert event.status == "resolved" and event.value > rule.threshold
    # The window that fired holds most of the incident day; the event resolves before the
    # window has fully left it.
    overlap = min(event.window_end, INCIDENT[1]) - max(event.window_start, INCIDENT[0])
    assert overlap >= timedelta(hours=12)
    assert event.opened_at < event.resolved_at <= INCIDENT[1] + timedelta(hours=25)
    # The past is not announced as news.
    assert event.deliveries == [] and mail.outbox == []

    # The alerts page shows it.
    client = Client()
    login(client, project, "viewer")
    page = client.get(f"/p/{project.slug}/quality/alerts/").content.decode()
    assert rule.name in page and "resolved" in page

    # Loading again changes nothing (no second rule, no event replayed twice).
    call_command("load_demo_alerts", "banking77")
    assert AlertRule.objects.filter(project=project).count() == 1
    assert AlertEvent.objects.filter(project=project).count() == 1
