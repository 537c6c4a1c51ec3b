"""The label names customers see, per language, through the API: read, set, validated."""

import pytest
from rest_framework.test import APIClient

from core.models import AuditEvent
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def url(project) -> str:
    return f"/api/v1/projects/{project.slug}/labels"


def test_the_labels_come_in_the_sets_order_with_their_names(api, project):
    project.labels = ["card_arrival", "exchange_rate"]
    project.label_names = {"card_arrival": "Card delivery"}
    project.label_translations = {"ko": {"card_arrival": "카드 배송"}}
    project.save()

    body = api.get(url(project)).json()

    assert body["results"] == [
        {"label": "card_arrival", "name": "Card delivery", "translations": {"ko": "카드 배송"}},
        {"label": "exchange_rate", "name": "", "translations": {}},
    ]


def test_names_are_set_and_removed_and_the_customer_page_language_gets_them(api, project):
    project.labels = ["card_arrival", "exchange_rate"]
    project.label_names = {"exchange_rate": "Exchange rate"}
    project.save()

    response = api.patch(
        url(project),
        {"names": {"card_arrival": " Card delivery ", "exchange_rate": ""},
         "translations": {"ko": {"card_arrival": "카드 배송"}}},
        format="json",
    )  # fmt: skip

    assert response.status_code == 200
    project.refresh_from_db()
    assert project.label_names == {"card_arrival": "Card delivery"}
    assert project.label_display("card_arrival", "ko") == "카드 배송"
    assert project.label_display("exchange_rate", "ko") == "Exchange rate"
    event = AuditEvent.objects.get(action="label_names_change")
    assert event.project == project and "api_key" in event.data


def test_one_bad_name_changes_nothing_and_each_error_names_its_field(api, project):
    project.labels = ["card_arrival"]
    project.save()

    response = api.patch(
        url(project),
        {"names": {"card_arrival": "Card delivery", "no_such_label": "X"},
         "translations": {"fr": {"card_arrival": "Arrivée"}, "ko": {"card_arrival": "가" * 201}}},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert set(details) == {
        "names.no_such_label", "translations.fr", "translations.ko.card_arrival"
    }  # fmt: skip
    project.refresh_from_db()
    assert project.label_names == {} and project.label_translations == {}


def test_without_a_label_set_any_label_can_be_named(make_key):
    project = ProjectFactory(labels=[])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, scopes=('ingest',))}")

    client.patch(url(project), {"names": {"refund": "Refund"}}, format="json")

    assert [row["label"] for row in client.get(url(project)).json()["results"]] == ["refund"]


def test_reading_needs_read_or_ingest_and_writing_needs_ingest(project, make_key):
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, scopes=('read',))}")

    assert reader.get(url(project)).status_code == 200
    assert reader.patch(url(project), {"names": {}}, format="json").status_code == 403
    assert APIClient().get(url(project)).status_code == 401
