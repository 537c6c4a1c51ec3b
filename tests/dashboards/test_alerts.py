"""Alert rules: evaluation on rollups, open/resolve without repeats, notifications, pages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from core.models import AuditEvent
from dashboards.models import AlertEvent, AlertRule, DashboardSettings, MetricRollup
from dashboards.services.alerts import alerts_evaluate, notifications_send, rule_reading
from feedback.models import ModelVersion
from tests.factories import ProjectFactory
from tests.helpers import login

from .test_webhooks import Receiver

pytestmark = pytest.mark.django_db

H0 = datetime(2025, 5, 1, tzinfo=UTC)


def hours(project, start, n_hours, *, predictions=100, corrections=5, complaints=0,
          labels=None, latency=None, version="v1"):  # fmt: skip
    mv, _ = ModelVersion.objects.get_or_create(project=project, version=version)
    MetricRollup.objects.bulk_create(
        MetricRollup(
            project=project, model_version=mv, hour=start + timedelta(hours=i),
            predictions=predictions, corrections=corrections, complaints=complaints,
            label_counts=labels or {"a": predictions}, latency_sketch=latency or {},
        )
        for i in range(n_hours)
    )  # fmt: skip


def rule(project, **fields):
    defaults = {"name": "Corrections up", "metric": "correction_rate", "comparator": "gt",
                "threshold": 0.1, "window_hours": 6, "min_volume": 100}  # fmt: skip
    return AlertRule.objects.create(project=project, **{**defaults, **fields})


def test_a_spike_opens_one_event_that_resolves_when_it_passes(project):
    r = rule(project, email_to="oncall@example.com")
    hours(project, H0, 24, corrections=5)  # 5 %
    hours(project, H0 + timedelta(hours=24), 6, corrections=30)  # 30 %: the spike
    hours(project, H0 + timedelta(hours=30), 24, corrections=5)

    outcomes = []
    for step in range(0, 54):
        result = alerts_evaluate(at=H0 + timedelta(hours=step, minutes=5))
        outcomes.append((result.opened, result.resolved))

    events = list(AlertEvent.objects.filter(rule=r))
    assert len(events) == 1 and sum(o for o, _ in outcomes) == 1
    event = events[0]
    assert event.status == "resolved"
    # By hand: one spike hour in the 6-hour window gives (30 + 5 * 5) / 600 = 9.2 %, two give
    # (60 + 4 * 5) / 600 = 13.3 %: it opens with the second spike hour and resolves when only
    # one is left in the window.
    assert event.opened_at == H0 + timedelta(hours=26, minutes=5)
    assert event.value == pytest.approx(80 / 600)
    assert event.resolved_at == H0 + timedelta(hours=35, minutes=5)
    assert event.last_value == pytest.approx(55 / 600)
    # One mail when it fired, one when it resolved.
    assert [m.subject.split(":")[0].split("] ")[1] for m in mail.outbox] == ["FIRING", "resolved"]
    assert mail.outbox[0].to == ["oncall@example.com"]
    assert "Corrections up" in mail.outbox[0].subject


def test_an_alert_mail_is_not_sent_again_when_its_delivery_record_was_lost(project):
    r = rule(project, email_to="oncall@example.com, lead@example.com")
    event = AlertEvent.objects.create(
        rule=r, project=project, opened_at=H0, value=0.3, predictions=600,
        window_start=H0 - timedelta(hours=6), window_end=H0,
    )  # fmt: skip

    assert notifications_send(event=event) == 1
    # The worker died before the attempt was recorded on the event: the next pass owes it again.
    AlertEvent.objects.filter(id=event.id).update(deliveries=[])
    event.refresh_from_db()
    notifications_send(event=event)

    assert sorted(m.to[0] for m in mail.outbox) == ["lead@example.com", "oncall@example.com"]
    assert all(len(m.to) == 1 for m in mail.outbox), "recipients do not see each other"


def test_it_does_not_fire_again_while_open(project):
    r = rule(project)
    hours(project, H0, 12, corrections=50)
    for step in range(6, 12):
        alerts_evaluate(at=H0 + timedelta(hours=step))
    event = AlertEvent.objects.get(rule=r)
    assert event.status == "open" and event.last_checked_at == H0 + timedelta(hours=11)


def test_too_little_traffic_changes_nothing(project):
    r = rule(project, min_volume=1000)
    hours(project, H0, 6, predictions=50, corrections=40)
    result = alerts_evaluate(at=H0 + timedelta(hours=6))
    assert result.skipped_low_volume == 1 and not AlertEvent.objects.filter(rule=r).exists()


def test_disabled_rules_and_other_projects_are_left_alone(project):
    rule(project, enabled=False)
    other = ProjectFactory()
    hours(project, H0, 6, corrections=50)
    hours(other, H0, 6, corrections=0)
    rule(other)
    result = alerts_evaluate(at=H0 + timedelta(hours=6))
    assert result.rules == 1 and not AlertEvent.objects.exists()


@pytest.mark.parametrize(
    "metric, comparator, threshold, fires",
    [
        ("complaint_rate", "gte", 0.2, True),
        ("complaint_rate", "gt", 0.2, False),
        ("top_label_share", "gt", 0.7, True),
        ("latency_p95", "gt", 150, True),
        ("latency_p95", "lt", 150, False),
        ("correction_rate", "lt", 0.06, True),
        ("correction_rate", "lte", 0.04, False),
    ],
)
def test_each_metric_is_read_from_the_window(project, metric, comparator, threshold, fires):
    from dashboards import metrics

    sketch = {str(metrics.latency_bucket(50)): 90, str(metrics.latency_bucket(400)): 10}
    hours(project, H0, 6, corrections=5, complaints=20, labels={"a": 80, "b": 20},
          latency=sketch)  # fmt: skip
    r = rule(project, metric=metric, comparator=comparator, threshold=threshold)
    alerts_evaluate(at=H0 + timedelta(hours=6))
    assert AlertEvent.objects.filter(rule=r).exists() == fires


def test_psi_compares_the_window_with_the_week_before(project):
    hours(project, H0, 24 * 7, labels={"a": 50, "b": 50})
    hours(project, H0 + timedelta(days=7), 6, labels={"a": 95, "b": 5})
    r = rule(project, metric="psi", threshold=0.25)
    reading = rule_reading(rule=r, at=H0 + timedelta(days=7, hours=6))
    assert reading.predictions == 600
    expected = metrics_psi({"a": 0.5, "b": 0.5}, {"a": 0.95, "b": 0.05})
    assert reading.value == pytest.approx(expected)
    alerts_evaluate(at=H0 + timedelta(days=7, hours=6))
    assert AlertEvent.objects.get(rule=r).status == "open"


def metrics_psi(expected, actual):
    import math

    return sum((actual[k] - expected[k]) * math.log(actual[k] / expected[k]) for k in expected)


def test_the_webhook_gets_the_event_when_its_receiver_is_allow_listed(project, figures):
    receiver = Receiver()
    try:
        refused_rule = rule(project, name="refused", webhook_url=f"{receiver.url}/hook")
        hours(project, H0, 6, corrections=50)
        alerts_evaluate(at=H0 + timedelta(hours=6))
        event = AlertEvent.objects.get(rule=refused_rule)
        assert [(d["channel"], d["refused"]) for d in event.deliveries] == [("webhook", True)]
        alerts_evaluate(at=H0 + timedelta(hours=6, minutes=5))  # a refusal is not retried
        event.refresh_from_db()
        assert len(event.deliveries) == 1 and receiver.hits == []

        DashboardSettings.objects.create(project=project, webhook_allow_list="127.0.0.1/32")
        allowed = rule(project, name="allowed", webhook_url=f"{receiver.url}/hook")
        alerts_evaluate(at=H0 + timedelta(hours=6, minutes=10))
    finally:
        receiver.close()
    figures.update(canary_hits_before_allow=0, delivered_when_allow_listed=len(receiver.hits))
    assert len(receiver.hits) == 1
    import json

    payload = json.loads(receiver.hits[0]["body"])
    assert payload["event"] == "opened" and payload["rule"]["id"] == allowed.id
    assert payload["project"] == project.slug and payload["value"] == pytest.approx(0.5)


def test_a_failed_delivery_is_retried_a_bounded_number_of_times(project):
    receiver = Receiver(status=500)
    try:
        r = rule(project, webhook_url=f"{receiver.url}/hook")
        DashboardSettings.objects.create(project=project, webhook_allow_list="127.0.0.1")
        hours(project, H0, 6, corrections=50)
        for minute in range(0, 30, 5):
            alerts_evaluate(at=H0 + timedelta(hours=6, minutes=minute))
    finally:
        receiver.close()
    event = AlertEvent.objects.get(rule=r)
    assert len(receiver.hits) == 3 and len(event.deliveries) == 3
    assert not any(d["ok"] for d in event.deliveries)


# --- the alerts page -----------------------------------------------------------------------


RULE_FORM = {
    "name": "Corrections <b>up</b>",
    "metric": "correction_rate",
    "comparator": "gt",
    "threshold": "0.2",
    "window_hours": "24",
    "min_volume": "100",
    "email_to": "a@example.com; b@example.com",
    "webhook_url": "",
    "enabled": "on",
}


def test_an_admin_creates_edits_and_deletes_a_rule(client, project):
    login(client, project, "admin")
    url = f"/p/{project.slug}/quality/alerts/"
    response = client.post(url, RULE_FORM)
    assert response.status_code == 302
    created = AlertRule.objects.get(project=project)
    assert created.emails == ["a@example.com", "b@example.com"]

    page = client.get(url).content.decode()
    assert "Corrections &lt;b&gt;up&lt;/b&gt;" in page and "<b>up</b>" not in page

    response = client.post(f"{url}{created.id}/", {**RULE_FORM, "threshold": "0.3"})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.threshold == 0.3
    response = client.post(f"{url}{created.id}/delete")
    assert response.status_code == 302 and not AlertRule.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"alert_rule_create", "alert_rule_update", "alert_rule_delete"} <= actions


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("threshold", "1.5", "between 0 and 1"),
        ("threshold", "abc", "Enter a number"),
        ("email_to", "not-an-address", "not an email address"),
        ("webhook_url", "ftp://example.com/x", "Only http and https"),
        ("webhook_url", "not a url", "Enter a valid URL"),
        ("window_hours", "0", "greater than or equal to 1"),
        ("metric", "rm -rf", "Select a valid choice"),
        ("segment_key", "channel", "Give both the key and the value"),
    ],
)
def test_a_bad_rule_is_refused_with_the_field_named(client, project, field, value, message):
    login(client, project, "admin")
    response = client.post(f"/p/{project.slug}/quality/alerts/", {**RULE_FORM, field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AlertRule.objects.exists()


def test_viewers_see_rules_and_events_but_cannot_change_them(client, project):
    r = rule(project, webhook_url="https://hooks.example.com/services/T0/B0/s3cr3t-token")
    hours(project, H0, 6, corrections=50)
    alerts_evaluate(at=H0 + timedelta(hours=6))
    login(client, project, "viewer")
    url = f"/p/{project.slug}/quality/alerts/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Corrections up" in page.content.decode() and "New rule" not in page.content.decode()
    # The webhook URL's secret stays with the admins: viewers see its host.
    assert "s3cr3t-token" not in page.content.decode()
    assert "hooks.example.com" in page.content.decode()
    assert client.post(url, RULE_FORM).status_code == 403
    assert client.post(f"{url}{r.id}/", RULE_FORM).status_code == 403
    assert client.post(f"{url}{r.id}/delete").status_code == 403
    assert client.post(f"{url}allow-list", {"webhook_allow_list": "0.0.0.0/0"}).status_code == 403
    assert AlertRule.objects.count() == 1


def test_a_rule_of_another_project_is_not_found(client, project):
    other = rule(ProjectFactory())
    login(client, project, "admin")
    url = f"/p/{project.slug}/quality/alerts/{other.id}/"
    assert client.get(url).status_code == 404
    assert client.post(url + "delete").status_code == 404
    assert AlertRule.objects.filter(id=other.id).exists()


def test_the_allow_list_is_validated_and_saved(client, project):
    login(client, project, "admin")
    url = f"/p/{project.slug}/quality/alerts/allow-list"
    response = client.post(url, {"webhook_allow_list": "10.0.0.0/8\nnot a host!"})
    assert response.status_code == 400 and "line 2" in response.content.decode()
    response = client.post(url, {"webhook_allow_list": "10.0.0.0/8\nalerts.internal"})
    assert response.status_code == 302
    assert (
        DashboardSettings.for_project(project).webhook_allow_list == "10.0.0.0/8\nalerts.internal"
    )


def test_a_rule_limited_to_a_slice_reads_the_slice_alone(project):
    """kiosk is corrected 30 % of the time, the traffic as a whole 6 %: the kiosk rule fires,
    the rule on all the traffic does not."""
    hours(project, H0, 6, predictions=500, corrections=30)
    MetricRollup.objects.filter(project=project).update(
        segment_counts={"channel": {"kiosk": [100, 30, 2, 0, 0], "app": [400, 0, 0, 0, 0]}}
    )
    kiosk = rule(project, name="Kiosk", segment_key="channel", segment_value="kiosk")
    everything = rule(project)
    nowhere = rule(project, name="Nowhere", segment_key="channel", segment_value="web")

    at = H0 + timedelta(hours=6, minutes=5)
    reading = rule_reading(rule=kiosk, at=at)
    alerts_evaluate(at=at)

    assert reading.predictions == 600 and reading.value == pytest.approx(0.3)
    assert rule_reading(rule=nowhere, at=at).predictions == 0
    assert AlertEvent.objects.filter(rule=kiosk).count() == 1
    assert not AlertEvent.objects.filter(rule=everything).exists()
    assert "of channel = kiosk" in kiosk.describe()


def test_a_slice_is_refused_for_a_metric_without_one(client, project):
    login(client, project, "admin")
    form = {**RULE_FORM, "metric": "latency_p95", "segment_key": "channel", "segment_value": "x"}
    response = client.post(f"/p/{project.slug}/quality/alerts/", form)

    assert response.status_code == 400
    assert "Only the correction and complaint rates have a slice" in response.content.decode()
