"""Reference datasets managed: listed, read and deleted through the API and the Exports page;
an export still queued with a deleted one fails saying so."""

import os

import pytest
from rest_framework.test import APIClient

from core.models import AuditEvent
from feedback.services import api_key_create
from tests.factories import FeedbackFactory, PredictionFactory, ProjectFactory
from tests.helpers import login, reference_ready
from triage.models import ReferenceDataset
from triage.services.export_build import REFERENCE_GONE, export_build
from triage.services.exports import export_request
from triage.services.references import reference_delete

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def dataset(project):
    prediction = PredictionFactory(project=project, input_text="Where is my card?")
    FeedbackFactory(prediction=prediction, corrected_label="card_not_working")
    return reference_ready(project, b"text\nwhere is my card\nCharged twice\n")


def key_client(project, scopes):
    api_key, full_key = api_key_create(project=project, scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    client.api_key = api_key
    return client


def test_deleting_removes_the_keys_and_is_audited(dataset, django_capture_on_commit_callbacks):
    path, dataset_id, sha256 = dataset.keys.path, dataset.id, dataset.sha256

    with django_capture_on_commit_callbacks(execute=True):
        reference_delete(dataset=dataset)

    assert not ReferenceDataset.objects.filter(id=dataset_id).exists()
    assert not os.path.exists(path)
    event = AuditEvent.objects.get(action="reference_deleted", target_id=dataset_id)
    assert event.data["name"] == "train.csv" and event.data["sha256"] == sha256


def test_an_export_queued_with_a_deleted_reference_fails_saying_so(project, dataset):
    dataset_id = dataset.id
    export = export_request(project=project, format="jsonl", reference=dataset_id)
    reference_delete(dataset=dataset)

    export_build(export_id=export.id)

    export.refresh_from_db()
    assert export.status == "failed"
    assert export.error == REFERENCE_GONE.format(id=dataset_id)
    assert not export.file


def test_the_api_lists_reads_and_deletes_a_reference(project, dataset):
    reader, exporter = key_client(project, ["read"]), key_client(project, ["export"])
    base = f"/api/v1/projects/{project.slug}/references"

    listed = reader.get(base).json()
    detail = reader.get(f"{base}/{dataset.id}").json()
    refused = reader.delete(f"{base}/{dataset.id}")
    deleted = exporter.delete(f"{base}/{dataset.id}")

    assert [item["id"] for item in listed["results"]] == [dataset.id]
    assert (detail["name"], detail["key_count"], detail["rows"]) == ("train.csv", 2, 2)
    assert refused.status_code == 403, "deleting needs the export scope"
    assert deleted.status_code == 204
    assert reader.get(f"{base}/{dataset.id}").status_code == 404
    event = AuditEvent.objects.get(action="reference_deleted", target_id=dataset.id)
    assert event.data["api_key"] == exporter.api_key.prefix


def test_another_projects_reference_is_not_found_through_the_api(project, dataset):
    other = ProjectFactory()
    client = key_client(other, ["export"])
    url = f"/api/v1/projects/{other.slug}/references/{dataset.id}"

    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    assert ReferenceDataset.objects.filter(id=dataset.id).exists()


def test_project_admins_delete_a_reference_on_the_exports_page(client, project, dataset):
    url = f"/p/{project.slug}/exports/references/{dataset.id}/delete"

    login(client, project, "reviewer")
    page = client.get(f"/p/{project.slug}/exports/").content.decode()
    assert client.post(url).status_code == 403
    assert url not in page, "no delete button below admin"

    login(client, project, "admin")
    assert url in client.get(f"/p/{project.slug}/exports/").content.decode()
    response = client.post(url)

    assert response.status_code == 302 and response.url.endswith("#references")
    assert not ReferenceDataset.objects.filter(id=dataset.id).exists()
