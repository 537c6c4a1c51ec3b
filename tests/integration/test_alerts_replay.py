"""An alert on the Banking77 replay: its one-day incident (the model collapses onto one
label, customers correct it) fires a correction-rate rule once, and the event resolves when the
incident has passed. Rollups are made by a real worker on PostgreSQL and Redis; the rule is
then evaluated hour by hour over the replay's six weeks, as beat would have done live, with
notifications to a local webhook receiver and by mail."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from core.publish import publish
from dashboards.models import AlertEvent, AlertRule, DashboardSettings, RollupDirtyHour
from dashboards.selectors import rollups_for
from dashboards.services.alerts import alerts_evaluate
from dashboards.services.rollups import rollup_rebuild
from feedback.demo import demo_load
from feedback.models import Project
from tests.conftest import Worker, purge_broker, wait_for
from tests.dashboards.test_webhooks import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

END = datetime(2025, 6, 2, tzinfo=UTC)
WEEKS = 6
# The replay's incident (feedback/replay.py): the ninth day after the start, for one day.
START = END - timedelta(weeks=WEEKS)
INCIDENT = (START + timedelta(days=9), START + timedelta(days=10))
# "40 % above normal", normal being the first week's correction rate.
SPIKE_FACTOR = 1.4


def test_the_replay_incident_fires_one_alert_that_resolves(transactional_db, tmp_path, figures):
    # Ten servings of each test query: ~730 predictions a day, enough for a 24 h window.
    demo_load(slug="b77-alerts", end=END, repeat=10)
    project = Project.objects.get(slug="b77-alerts")
    rollup_rebuild(project=project)
    # Only the rollups matter here: the triage follow-ups the load published are dropped.
    purge_broker()
    worker = Worker(tmp_path).start()
    try:
        # As beat would: a pass has a time budget, so a slow machine needs a few of them
        # (a pass asked for while one runs is a no-op).
        def drained() -> bool:
            if not RollupDirtyHour.objects.exists():
                return True
            assert publish("dashboards.rollup")
            return False

        wait_for(drained, timeout=900, interval=15)
    finally:
        worker.stop()

    first_week = rollups_for(project=project, since=START, until=START + timedelta(days=7))
    n = sum(first_week.values_list("predictions", flat=True))
    k = sum(first_week.values_list("corrections", flat=True))
    normal = k / n
    receiver = Receiver()
    DashboardSettings.objects.create(project=project, webhook_allow_list="127.0.0.1/32")
    rule = AlertRule.objects.create(
        project=project, name="Correction-rate spike", metric="correction_rate",
        comparator="gt", threshold=round(normal * SPIKE_FACTOR, 4), window_hours=24,
        min_volume=300, email_to="oncall@example.com", webhook_url=f"{receiver.url}/alerts",
    )  # fmt: skip
    try:
        transitions = []
        at = START + timedelta(minutes=5)
        while at < END:
            result = alerts_evaluate(at=at, project=project)
            if result.opened or result.resolved:
                transitions.append((at, "opened" if result.opened else "resolved"))
            at += timedelta(hours=1)
    finally:
        receiver.close()

    events = list(AlertEvent.objects.filter(rule=rule))
    figures.update(
        normal_correction_rate=round(normal, 4), threshold=rule.threshold,
        events=len(events), value_at_opening=round(events[0].value, 4) if events else None,
        webhook_deliveries=len(receiver.hits), emails=len(mail.outbox),
    )  # fmt: skip
    assert [t for _, t in transitions] == ["opened", "resolved"]
    (event,) = events
    assert event.status == "resolved" and event.value > rule.threshold
    # It opens while the incident day is in the window and resolves once it has left it.
    assert INCIDENT[0] < event.opened_at <= INCIDENT[1] + timedelta(hours=1)
    assert INCIDENT[1] < event.resolved_at <= INCIDENT[1] + timedelta(hours=25)
    assert event.last_value <= rule.threshold
    # Notified twice on each channel: opened, resolved.
    assert [h["path"] for h in receiver.hits] == ["/alerts", "/alerts"]
    assert len(mail.outbox) == 2 and all(d["ok"] for d in event.deliveries)
