"""Exports through the API and the team download: scopes, roles, errors, audit, loaders."""

import io
import json

import pandas as pd
import pytest
from rest_framework.test import APIClient

from core.models import AuditEvent
from tests.factories import (
    ErrorCategoryFactory,
    FeedbackFactory,
    PredictionFactory,
    ProjectFactory,
    UserFactory,
)
from tests.helpers import member
from triage.models import DatasetExport
from triage.services.export_build import export_build

pytestmark = pytest.mark.django_db

TRICKY = '=HYPERLINK("http://evil.example","click") "quoted", comma\nnew line 카드 🙂'


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def corrected(project):
    for i, text in enumerate([TRICKY, "where is my card", "+44 is my number"]):
        prediction = PredictionFactory(project=project, input_text=text, request_id=f"r{i}")
        FeedbackFactory(prediction=prediction, corrected_label="lost_or_stolen_card")
    return project


def client_with(project, make_key, scopes):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, scopes=scopes)}")
    return client


def url(project, suffix=""):
    return f"/api/v1/projects/{project.slug}/exports{suffix}"


def request_and_build(api, project, body, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as published:
        response = api.post(url(project), body, format="json")
    assert response.status_code == 202, response.json()
    assert len(published) == 1  # the build task, after commit
    export_build(export_id=response.json()["id"])
    return response.json()


def test_an_export_is_requested_followed_and_downloaded(
    api, corrected, django_capture_on_commit_callbacks
):
    queued = request_and_build(
        api,
        corrected,
        {
            "format": "jsonl",
            "filters": {"model_versions": ["v1"], "reviewed_only": False},
            "resolution": "majority",
            "split": {"validation": 0.5, "seed": 1},
        },
        django_capture_on_commit_callbacks,
    )

    detail = api.get(url(corrected, f"/{queued['id']}")).json()
    download = api.get(url(corrected, f"/{queued['id']}/download"))

    assert queued["status"] == "queued" and queued["version"] == "v1"
    assert detail["status"] == "succeeded" and detail["row_count"] == 3
    assert detail["manifest"]["file"]["sha256"] == detail["sha256"]
    body = b"".join(download.streaming_content)
    rows = [json.loads(line) for line in body.splitlines()]
    assert {r["input_text"] for r in rows} >= {TRICKY, "+44 is my number"}  # unchanged
    assert {r["split"] for r in rows} <= {"train", "validation"}
    assert download["Content-Disposition"].endswith(f'"{corrected.slug}-export-v1.jsonl"')
    event = AuditEvent.objects.get(action="export_downloaded")
    assert event.target_id == queued["id"] and event.data["api_key"]


def test_the_csv_download_is_formula_safe_and_loads_with_pandas(
    api, corrected, django_capture_on_commit_callbacks
):
    queued = request_and_build(
        api, corrected, {"format": "csv"}, django_capture_on_commit_callbacks
    )

    response = api.get(url(corrected, f"/{queued['id']}/download"))

    frame = pd.read_csv(io.BytesIO(b"".join(response.streaming_content)), keep_default_na=False)
    assert response["Content-Type"].startswith("text/csv")
    texts = set(frame.input_text)
    assert "'" + TRICKY in texts and "'+44 is my number" in texts and "where is my card" in texts


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_exports_load_with_the_hugging_face_loaders(
    api, corrected, django_capture_on_commit_callbacks, fmt, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    queued = request_and_build(api, corrected, {"format": fmt}, django_capture_on_commit_callbacks)
    path = tmp_path / f"export.{fmt}"
    response = api.get(url(corrected, f"/{queued['id']}/download"))
    path.write_bytes(b"".join(response.streaming_content))

    loaded = datasets.load_dataset(
        "json" if fmt == "jsonl" else "parquet",
        data_files=str(path),
        split="train",
        cache_dir=str(tmp_path / "hf-cache"),
    )

    assert loaded.num_rows == 3
    assert TRICKY in loaded["input_text"]
    assert set(loaded.column_names) >= {
        "request_id", "input_text", "predicted_label", "corrected_label", "model_version",
        "served_at", "n_feedback", "category_ids", "split",
    }  # fmt: skip


def test_a_bad_request_names_the_field(api, project):
    foreign = ErrorCategoryFactory(project=ProjectFactory(), title="theirs")

    bad_format = api.post(url(project), {"format": "xlsx"}, format="json")
    bad_category = api.post(
        url(project), {"format": "csv", "filters": {"categories": [foreign.id]}}, format="json"
    )
    bad_split = api.post(url(project), {"format": "csv", "split": {"validation": 1}}, format="json")

    assert bad_format.status_code == 400
    assert "format" in bad_format.json()["error"]["details"]
    assert bad_category.status_code == 400
    assert "categories" in bad_category.json()["error"]["details"]["filters"]
    assert bad_split.status_code == 400
    assert "validation" in bad_split.json()["error"]["details"]["split"]
    assert not DatasetExport.objects.exists()


def test_keys_without_the_export_scope_or_of_another_project_cannot_export(
    project, make_key, corrected, django_capture_on_commit_callbacks
):
    exporter = client_with(project, make_key, ("export",))
    queued = request_and_build(
        exporter, project, {"format": "csv"}, django_capture_on_commit_callbacks
    )
    reader = client_with(project, make_key, ("read",))
    stranger = client_with(ProjectFactory(), make_key, ("export", "read"))

    assert reader.post(url(project), {"format": "csv"}, format="json").status_code == 403
    assert reader.get(url(project, f"/{queued['id']}")).status_code == 200
    assert reader.get(url(project, f"/{queued['id']}/download")).status_code == 403
    assert stranger.get(url(project, f"/{queued['id']}")).status_code == 403
    assert stranger.get(url(project, f"/{queued['id']}/download")).status_code == 403
    assert APIClient().get(url(project, f"/{queued['id']}/download")).status_code == 401


def test_another_projects_export_id_is_not_found(api, project):
    other = ProjectFactory()
    from triage.services.exports import export_request

    theirs = export_request(project=other, format="csv")

    assert api.get(url(project, f"/{theirs.id}")).status_code == 404
    assert api.get(url(project, f"/{theirs.id}/download")).status_code == 404


def test_an_export_not_built_yet_cannot_be_downloaded(api, project):
    response = api.post(url(project), {"format": "csv"}, format="json")

    download = api.get(url(project, f"/{response.json()['id']}/download"))

    assert download.status_code == 409
    assert download.json()["error"]["code"] == "not_ready"


def test_the_list_shows_the_versions_newest_first(api, project):
    for fmt in ("csv", "jsonl"):
        api.post(url(project), {"format": fmt}, format="json")

    body = api.get(url(project)).json()

    assert [e["version"] for e in body["results"]] == ["v2", "v1"]


# --- the team download -----------------------------------------------------------------------


def page_url(project, export_id):
    return f"/p/{project.slug}/exports/{export_id}/download"


def test_reviewers_download_from_the_page_and_it_is_audited(client, corrected):
    from triage.services.exports import export_request

    export = export_request(project=corrected, format="parquet")
    export_build(export_id=export.id)
    reviewer, viewer = member(corrected, "reviewer"), member(corrected, "viewer")
    outsider = UserFactory()

    client.force_login(outsider)
    assert client.get(page_url(corrected, export.id)).status_code == 404
    client.force_login(viewer)
    assert client.get(page_url(corrected, export.id)).status_code == 403
    client.force_login(reviewer)
    response = client.get(page_url(corrected, export.id))

    assert response.status_code == 200
    assert len(pd.read_parquet(io.BytesIO(b"".join(response.streaming_content)))) == 3
    event = AuditEvent.objects.get(action="export_downloaded")
    assert event.actor == reviewer and event.target_id == export.id


def test_the_schema_documents_the_export_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert {
        "/api/v1/projects/{slug}/exports",
        "/api/v1/projects/{slug}/exports/{export_id}",
        "/api/v1/projects/{slug}/exports/{export_id}/download",
    } <= set(schema["paths"])
    post = schema["paths"]["/api/v1/projects/{slug}/exports"]["post"]
    assert set(post["responses"]) == {"202", "400", "401", "403"}


def test_an_export_names_a_reference_dataset_by_id(
    api, corrected, django_capture_on_commit_callbacks
):
    from tests.helpers import reference_ready

    dataset = reference_ready(corrected, b'{"text": "Where is my card?"}\n', "train.jsonl")
    foreign = reference_ready(ProjectFactory(), b'{"text": "x"}\n', "train.jsonl")

    refused = api.post(url(corrected), {"format": "csv", "reference": foreign.id}, format="json")
    body = {"format": "jsonl", "reference": dataset.id, "reference_handling": "exclude"}
    queued = request_and_build(api, corrected, body, django_capture_on_commit_callbacks)

    assert refused.status_code == 400 and "reference" in refused.json()["error"]["details"]
    manifest = api.get(url(corrected, f"/{queued['id']}")).json()["manifest"]
    assert manifest["excluded"]["in_reference"] == 1 and manifest["row_count"] == 2
    assert manifest["reference"]["sha256"] == dataset.sha256
