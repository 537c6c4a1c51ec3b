"""Files in an S3 bucket (a real S3 protocol server, moto, on loopback): a real Celery worker
and the web app that share no folder. The worker builds exports, reads imports and reference
datasets from the bucket and writes their results there; the web app stores uploads in it and
serves downloads from it, streamed or by a signed URL. Neither keeps a file on its disk."""

import csv
import hashlib
import io
from pathlib import Path

import pytest
import requests
from rest_framework.test import APIClient

from feedback.models import Feedback, Project
from feedback.services import api_key_create
from tests.conftest import Worker, purge_broker, wait_for
from tests.feedback.imports.helpers import upload
from tests.triage.conftest import REPLAY_END, cached_replay
from triage.models import DatasetExport, ReferenceDataset

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project(transactional_db, monkeypatch):
    from feedback.demo import demo_load

    monkeypatch.setattr("feedback.demo.build_replay", lambda *a, **k: cached_replay(0))
    demo_load(slug="banking77", end=REPLAY_END)
    purge_broker()
    return Project.objects.get(slug="banking77")


@pytest.fixture
def api(project):
    client = APIClient()
    key = api_key_create(project=project, scopes=["ingest", "read", "export"])[1]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def folders(tmp_path, settings, bucket):
    """The web app's (this process) media folder and the worker's: never the same."""
    settings.MEDIA_ROOT = tmp_path / "web" / "media"
    return {"web": tmp_path / "web" / "media", "worker": tmp_path / "worker" / "media"}


@pytest.fixture
def worker(tmp_path, folders, bucket):
    purge_broker()
    process = Worker(tmp_path)
    process.env.update(bucket.env, VOC_DATA_DIR=str(tmp_path / "worker"))
    process.start()
    yield process
    process.stop()


def files_on_disk(folder: Path) -> list[str]:
    return [str(path) for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_an_export_is_built_into_the_bucket_and_downloaded_from_it(
    project, api, bucket, folders, worker, settings
):
    url = "/api/v1/projects/banking77/exports"
    export_id = api.post(url, {"format": "jsonl"}, format="json").json()["id"]
    wait_for(lambda: DatasetExport.objects.get(id=export_id).status == "succeeded", timeout=120)
    detail = api.get(f"{url}/{export_id}").json()
    streamed = api.get(f"{url}/{export_id}/download")
    body = b"".join(streamed.streaming_content)

    settings.VOC_STORAGE_PRESIGNED = True
    signed = api.get(f"{url}/{export_id}/download")
    fetched = requests.get(signed["Location"], timeout=30)

    export = DatasetExport.objects.get(id=export_id)
    assert bucket.keys() == [f"voc/{export.file.name}"]
    assert export.file.name.startswith(f"exports/{project.id}/{export_id}-")
    assert streamed.status_code == 200 and len(body) == detail["size_bytes"] > 0
    assert hashlib.sha256(body).hexdigest() == detail["sha256"] == streamed["X-Content-SHA256"]
    assert len(body.splitlines()) == detail["row_count"]
    assert signed.status_code == 302 and signed["X-Content-SHA256"] == detail["sha256"]
    assert fetched.status_code == 200 and fetched.content == body
    assert 'attachment; filename="' in fetched.headers["Content-Disposition"]
    assert files_on_disk(folders["web"]) == files_on_disk(folders["worker"]) == []


def test_a_reference_dataset_is_read_from_the_bucket_and_used_by_an_export(
    project, api, bucket, folders, worker
):
    corrected = Feedback.objects.filter(project=project, kind="correction")
    texts = sorted(set(corrected.values_list("prediction__input_text", flat=True)))[:50]
    out = io.StringIO()
    csv.writer(out).writerows([("text", "label"), *((text, "x") for text in texts)])
    training = out.getvalue().encode()
    response = api.post(
        "/api/v1/projects/banking77/references",
        {"file": upload(training, "train.csv"), "text_column": "text"},
        format="multipart",
    )
    reference_id = response.json()["id"]
    wait_for(lambda: ReferenceDataset.objects.get(id=reference_id).is_ready, timeout=60)
    dataset = ReferenceDataset.objects.get(id=reference_id)

    url = "/api/v1/projects/banking77/exports"
    body = {"format": "csv", "reference": reference_id, "reference_handling": "mark"}
    export_id = api.post(url, body, format="json").json()["id"]
    wait_for(lambda: DatasetExport.objects.get(id=export_id).status == "succeeded", timeout=120)
    manifest = DatasetExport.objects.get(id=export_id).manifest

    assert response.status_code == 202
    assert (dataset.rows, dataset.upload.name) == (50, "")  # read, then the upload deleted
    assert f"voc/{dataset.keys.name}" in bucket.keys()
    assert not any("upload" in key for key in bucket.keys())
    assert manifest["reference"]["id"] == reference_id and manifest["reference"]["matched"] > 0
    assert manifest["reference"]["sha256"] == hashlib.sha256(training).hexdigest()
    assert files_on_disk(folders["web"]) == files_on_disk(folders["worker"]) == []


def test_an_import_is_read_from_the_bucket_and_its_report_served_from_it(
    project, api, bucket, folders, worker
):
    csv_text = (
        "Ticket,Created,Body\n"
        "T-1,2025-01-02 10:00,My card was declined\n"
        "T-2,not a date,Wrong answer again\n"
        "T-3,2025-01-02 12:00,my card never arrived\n"
    )
    created = api.post(
        "/api/v1/projects/banking77/imports",
        {"file": upload(csv_text), "text_column": "Body", "created_at_column": "Created",
         "external_id_column": "Ticket"},
        format="multipart",
    )  # fmt: skip
    job_id = created.json()["id"]
    url = f"/api/v1/projects/banking77/imports/{job_id}"
    wait_for(lambda: api.get(url).json()["status"] == "succeeded", timeout=60)
    status = api.get(url).json()
    report = api.get(f"{url}/report")
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()

    assert created.status_code == 202, created.content
    assert (status["rows_accepted"], status["rows_rejected"]) == (2, 1)
    assert lines[0] == "line,column,message" and lines[1].startswith("3,Created,")
    assert [key for key in bucket.keys() if key.startswith("voc/imports/")] == [
        key for key in bucket.keys() if key.endswith("-rejected.csv")
    ], "the upload is deleted once read; the report stays"
    assert files_on_disk(folders["web"]) == files_on_disk(folders["worker"]) == []
