"""The project settings page (admins)."""

import pytest

from core.models import AuditEvent
from dashboards.models import DashboardSettings
from tests.helpers import login
from triage.models import ReviewSettings

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    data = {
        "project-name": "Shop intents",
        "project-labels": "card_arrival\ncard_linking\n",
        "project-label_names": "card_arrival = Card delivery\n",
        "project-show_input_to_customer": "on",
        "project-frame_ancestors": "",
        "project-feedback_link_days": "30",
        "project-prediction_retention_days": "60",
        "dashboard-sla_latency_p95_ms": "250",
        "dashboard-target_correction_rate": "0.08",
        "review-big_category_size": "15",
        "review-regression_share": "0.5",
        "review-regression_min_predictions": "200",
        "review-digest": "on",
    }
    return {**data, **overrides}


def test_an_admin_saves_every_part_at_once_and_it_is_audited(client, project):
    login(client, project, "admin")

    response = client.post(f"/p/{project.slug}/settings/", form_data())

    project.refresh_from_db()
    assert response.status_code == 302
    assert project.labels == ["card_arrival", "card_linking"]
    assert project.label_names == {"card_arrival": "Card delivery"}
    assert project.prediction_retention_days == 60
    assert DashboardSettings.objects.get(project=project).sla_latency_p95_ms == 250
    assert ReviewSettings.objects.get(project=project).big_category_size == 15
    event = AuditEvent.objects.get(action="settings_change")
    assert "project.label_names" in event.data["fields"]


def test_a_bad_line_is_named_and_nothing_is_saved(client, project):
    login(client, project, "admin")

    response = client.post(
        f"/p/{project.slug}/settings/",
        form_data(**{"project-label_names": "card_arrival = Card delivery\nrefund Refund\n"
                     "lost_card = Lost", "dashboard-sla_latency_p95_ms": "250"}),
    )  # fmt: skip

    project.refresh_from_db()
    text = response.content.decode()
    assert response.status_code == 200
    assert "Line 2: write label = Name." in text
    assert "Line 3: lost_card is not one of the labels above." in text
    assert project.label_names == {} and not DashboardSettings.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_only_admins_open_it(client, project, role):
    login(client, project, role)

    assert client.get(f"/p/{project.slug}/settings/").status_code == 403
    assert client.post(f"/p/{project.slug}/settings/", form_data()).status_code == 403


def test_names_for_korean_customers_are_saved_beside_the_english_ones(client, project):
    login(client, project, "admin")

    client.post(
        f"/p/{project.slug}/settings/",
        form_data(**{"project-label_names_ko": "card_arrival = 카드 배송\n"}),
    )

    project.refresh_from_db()
    assert project.label_translations == {"ko": {"card_arrival": "카드 배송"}}
    assert project.label_display("card_arrival", "ko") == "카드 배송"
    assert project.label_display("card_arrival", "en") == "Card delivery"
    assert project.label_display("card_linking", "ko") == "Card linking"  # no Korean name yet
