"""The online quality overview page /p/<slug>/quality/."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from core.models import AuditEvent
from dashboards.models import DashboardSettings
from dashboards.services.rollups import rollup_pass
from dashboards.templatetags.dashboard_tags import heat
from feedback.models import Feedback, ModelVersion, Prediction
from tests.factories import (
    ErrorCategoryFactory,
    FeedbackFactory,
    ModelVersionFactory,
    PredictionFactory,
    ProjectFactory,
)
from tests.helpers import login

from .conftest import T0

pytestmark = pytest.mark.django_db

PERIOD = {"period": "custom", "since": "2025-03-01", "until": "2025-03-10"}


def url(project):
    return f"/p/{project.slug}/quality/"


def chart(response, section_id):
    match = re.search(
        rf'<script id="chart-{section_id}" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no chart data for {section_id}"
    return json.loads(match.group(1))


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def section_rows(response, section_id):
    for section in response.context["data"]["sections"]:
        if section["id"] == section_id:
            return section
    raise AssertionError(section_id)


def test_a_member_sees_every_section_with_charts_and_numbers(client, traffic_project):
    rollup_pass()
    login(client, traffic_project, "viewer")

    response = client.get(url(traffic_project), PERIOD)

    assert response.status_code == 200
    page = response.content.decode()
    for section_id in (
        "rates",
        "offline-online",
        "confusion",
        "collapse",
        "drift",
        "reliability",
        "service",
    ):
        assert f'id="{section_id}"' in page
        assert chart(response, section_id)["kind"]
        assert f"csv={section_id}" in page
    assert "vendor/chartjs/chart.umd.min.js" in page
    assert "5 complaints not linked to a prediction" in page  # make_traffic writes five
    rates = chart(response, "rates")["series"]
    assert set(rates) == {"v1", "v2"}
    # The matrix is shaded by class (heat-0 … heat-9): no inline style under the CSP.
    assert 'class="num heat heat-' in page and "style=" not in page


@pytest.mark.parametrize(
    ("share", "shade"),
    [
        (0, "heat-0"),
        (0.01, "heat-1"),
        (0.5, "heat-5"),
        (0.99, "heat-9"),
        (1, "heat-9"),
        ("x", "heat-0"),
    ],
)
def test_a_matrix_cell_is_shaded_by_its_share_of_the_largest(share, shade):
    assert heat(share) == shade


def test_the_project_nav_links_to_the_page(client, project):
    login(client, project, "viewer")
    page = client.get(f"/p/{project.slug}/").content.decode()
    assert f'href="/p/{project.slug}/quality/"' in page


def test_outsiders_do_not_see_the_page(client, traffic_project):
    assert client.get(url(traffic_project)).status_code == 302  # to the login page
    login(client, ProjectFactory(), "viewer")
    assert client.get(url(traffic_project)).status_code == 404


def test_csv_downloads_match_the_figures_of_the_api(client, make_key, traffic_project):
    rollup_pass()
    login(client, traffic_project, "viewer")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(traffic_project)}")

    rows = csv_rows(client.get(url(traffic_project), {**PERIOD, "csv": "rates"}))
    api_rows = api.get(
        f"/api/v1/projects/{traffic_project.slug}/metrics",
        {"since": "2025-03-01T00:00:00Z", "until": "2025-03-11T00:00:00Z"},
    ).json()

    header, body = rows[0], rows[1:]
    assert header[:5] == [
        "bucket_start",
        "model_version",
        "predictions",
        "corrections",
        "correction_rate",
    ]
    assert [(r[1], int(r[2]), int(r[3])) for r in body] == [
        (a["model_version"], a["predictions"], a["corrections"]) for a in api_rows
    ]
    assert float(body[0][4]) == pytest.approx(api_rows[0]["correction_rate"], abs=1e-4)
    assert client.get(url(traffic_project), {"csv": "nope"}).status_code == 404


def test_csv_cells_from_outside_cannot_become_formulas(client, db):
    project = ProjectFactory(labels=[])
    prediction = PredictionFactory(project=project, served_at=T0, predicted_label="=HYPERLINK()")
    FeedbackFactory(prediction=prediction, corrected_label="@SUM(A1)")
    rollup_pass()
    login(client, project, "viewer")

    rows = csv_rows(client.get(url(project), {**PERIOD, "csv": "confusion"}))

    assert rows[1][:3] == ["'=HYPERLINK()", "'@SUM(A1)", "1"]


def test_the_version_filter_limits_every_section(client, traffic_project):
    rollup_pass()
    login(client, traffic_project, "viewer")

    response = client.get(url(traffic_project), {**PERIOD, "versions": "v2"})

    assert set(chart(response, "rates")["series"]) == {"v2"}
    assert chart(response, "offline-online")["labels"] == ["v2"]
    assert {row[0] for row in section_rows(response, "service")["table"]["rows"]} == {"v2"}


def test_the_page_reads_rollups_not_raw_predictions(
    client, traffic_project, django_assert_max_num_queries
):
    rollup_pass()
    login(client, traffic_project, "viewer")
    Feedback.objects.all().delete()
    Prediction.objects.all().delete()

    # The sections' reads, plus two for the segment counts (weekly rows, and daily or hourly
    # ones for the ends of the period), and one for the reviewers' verdicts (a person's work:
    # hundreds or thousands of rows, read as they are).
    with django_assert_max_num_queries(17):
        response = client.get(url(traffic_project), PERIOD)

    service = section_rows(response, "service")["table"]["rows"]
    assert sum(row[1] for row in service) == 400


def test_bad_dates_are_explained_and_the_page_still_answers(client, traffic_project):
    login(client, traffic_project, "viewer")

    response = client.get(
        url(traffic_project),
        {"period": "custom", "since": "2025-03-05", "until": "2025-03-01", "bucket": "year"},
    )

    assert response.status_code == 200
    assert "Must be after the start date." in response.content.decode()


def two_versions(project, *, v2_labels, offline=0.9):
    """v1 answers four labels evenly on day 1; v2 answers `v2_labels` (a list cycled) on day
    2, and customers correct every second v2 answer."""
    v1 = ModelVersionFactory(project=project, version="v1", released_at=T0)
    v2 = ModelVersion.objects.create(
        project=project,
        version="v2",
        released_at=T0 + timedelta(days=1),
        offline_metrics={"accuracy": offline},
    )
    labels = project.labels
    for i in range(80):
        PredictionFactory(
            project=project,
            model_version=v1,
            served_at=T0 + timedelta(minutes=i),
            predicted_label=labels[i % 4],
            confidence=0.95,
            latency_ms=20,
        )
    for i in range(80):
        p = PredictionFactory(
            project=project,
            model_version=v2,
            served_at=T0 + timedelta(days=1, minutes=i),
            predicted_label=v2_labels[i % len(v2_labels)],
            confidence=0.3 if i % 2 else 0.9,
            latency_ms=900,
        )
        if i % 2:
            FeedbackFactory(prediction=p, corrected_label="exchange_rate")
    rollup_pass()


def test_a_collapsing_version_is_flagged_and_drift_is_significant(client, project):
    two_versions(project, v2_labels=["card_arrival"] * 19 + ["card_not_working"])
    login(client, project, "viewer")

    response = client.get(url(project), PERIOD)

    collapse = section_rows(response, "collapse")
    flagged = [row for row, flag in collapse["table"]["display"] if flag]
    assert [(row[1], row[3]) for row in flagged] == [("v2", "card_arrival")]
    assert collapse["flagged"] == 1
    table = section_rows(response, "drift")["table"]
    drift = {row[1]: dict(zip(table["columns"], row, strict=True)) for row in table["rows"]}
    assert drift["v1"]["labels_band"] == "stable"  # v1 against its own first weeks
    assert drift["v2"]["labels_band"] == "significant"
    assert drift["v2"]["label_moved_most"] == "card_arrival"
    assert drift["v2"]["confidence_band"] == "significant"
    assert drift["v2"]["reference"] == "v1's first 14 days"


def test_offline_vs_online_gap_is_highlighted(client, project):
    two_versions(project, v2_labels=list(project.labels), offline=0.9)
    login(client, project, "viewer")

    response = client.get(url(project), PERIOD)

    table = section_rows(response, "offline-online")["table"]
    rows = {row[0]: (row, flag) for row, flag in table["display"]}
    row, flagged = rows["v2"]
    assert row[1] == 0.9 and row[3] == 0.0 and row[4] == 0.9 and flagged
    assert rows["v1"][0][1] == "" and not rows["v1"][1]  # no offline figure, no gap


def test_top_confused_pairs_link_to_their_category(client, project):
    two_versions(project, v2_labels=["card_arrival"])
    category = ErrorCategoryFactory(
        project=project,
        title="Rates <b>mixed</b> up",
        top_confusions=[{"predicted": "card_arrival", "corrected": "exchange_rate", "count": 9}],
    )
    login(client, project, "viewer")

    response = client.get(url(project), PERIOD)

    page = response.content.decode()
    assert f'href="/p/{project.slug}/categories/{category.id}/"' in page
    assert "Rates &lt;b&gt;mixed&lt;/b&gt; up" in page
    pairs = section_rows(response, "confusion")["pairs"]
    assert (pairs[0]["predicted"], pairs[0]["corrected"], pairs[0]["count"]) == (
        "card_arrival",
        "exchange_rate",
        40,
    )


def test_reliability_threshold_and_sla(client, project):
    two_versions(project, v2_labels=list(project.labels))
    DashboardSettings.objects.create(
        project=project, sla_latency_p95_ms=500, target_correction_rate=0.05
    )
    login(client, project, "viewer")

    response = client.get(url(project), {**PERIOD, "versions": "v2"})

    reliability = section_rows(response, "reliability")
    bins = {row[1]: row[5] for row in reliability["table"]["rows"]}
    assert bins == {0.3: 1.0, 0.9: 0.0}
    # 40 answers above 0.35, none corrected: their rate's interval reaches 8.8 %, over the
    # 5 % target, and 40 are too few to suggest a threshold from.
    assert reliability["thresholds"][0]["suggested"] is None
    assert "no threshold keeps the correction rate" in response.content.decode()
    service = section_rows(response, "service")["table"]["display"]
    ((row, breached),) = service
    assert row[6] == pytest.approx(900, rel=0.03) and row[8] == "no" and breached
    latency = section_rows(response, "service")["latency_table"]
    (day,) = [dict(zip(latency["columns"], r, strict=True)) for r in latency["rows"]]
    assert day["bucket_start"] == "2025-03-04" and day["latencies"] == 80
    assert day["latency_p95_ms"] == pytest.approx(900, rel=0.03) and not day["partial_bucket"]
    csv = csv_rows(client.get(url(project), {**PERIOD, "versions": "v2", "csv": "service-latency"}))
    assert csv[0][:3] == ["bucket_start", "model_version", "latencies"] and len(csv) == 2


def test_an_admin_sets_the_targets_and_the_change_is_audited(client, project):
    user = login(client, project, role="admin")
    assert (
        f'action="/p/{project.slug}/quality/settings"' in client.get(url(project)).content.decode()
    )

    response = client.post(
        f"/p/{project.slug}/quality/settings",
        {"sla_latency_p95_ms": "250", "target_correction_rate": "0.1"},
    )

    assert response.status_code == 302
    saved = DashboardSettings.objects.get(project=project)
    assert (saved.sla_latency_p95_ms, saved.target_correction_rate) == (250, 0.1)
    event = AuditEvent.objects.get(project=project, action="dashboard_settings_update")
    assert event.actor == user and event.data["after"]["sla_latency_p95_ms"] == 250


def test_bad_targets_are_refused_with_the_field_named(client, project):
    login(client, project, role="admin")

    response = client.post(
        f"/p/{project.slug}/quality/settings",
        {"sla_latency_p95_ms": "-3", "target_correction_rate": "2"},
        follow=True,
    )

    page = response.content.decode()
    assert "Latency SLA, p95 (ms): Ensure this value is greater than or equal to 0.1." in page
    assert "Target correction rate: Ensure this value is less than or equal to 1.0." in page
    assert not DashboardSettings.objects.filter(project=project).exists()


def test_only_admins_change_the_targets(client, project):
    login(client, project, role="reviewer")
    assert "quality/settings" not in client.get(url(project)).content.decode()
    response = client.post(f"/p/{project.slug}/quality/settings", {"target_correction_rate": "0.5"})
    assert response.status_code == 403
    assert not DashboardSettings.objects.filter(project=project).exists()
