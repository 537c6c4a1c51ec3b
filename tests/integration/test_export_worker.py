"""Exports built by a real Celery worker on Redis and PostgreSQL, from the Banking77 replay."""

import hashlib
import json
import os
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import AuditEvent
from feedback.models import Feedback, Project
from feedback.services import api_key_create
from tests.conftest import Worker, purge_broker, wait_for
from tests.triage.conftest import REPLAY_END, cached_replay
from triage.models import DatasetExport
from triage.services.export_build import exports_sweep
from triage.services.exports import export_request

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project(transactional_db, monkeypatch):
    from feedback.demo import demo_load

    monkeypatch.setattr("feedback.demo.build_replay", lambda *a, **k: cached_replay(0))
    demo_load(slug="banking77", end=REPLAY_END)
    purge_broker()  # the follow-up messages of the ingest: these tests are about exports
    return Project.objects.get(slug="banking77")


@pytest.fixture
def api(project):
    client = APIClient()
    key = api_key_create(project=project, scopes=["export"])[1]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def status_of(export_id):
    return DatasetExport.objects.get(id=export_id).status


def test_the_worker_builds_an_export_requested_through_the_api(project, api, tmp_path):
    worker = Worker(tmp_path).start()
    try:
        response = api.post(
            "/api/v1/projects/banking77/exports",
            {"format": "jsonl", "resolution": "latest", "split": {"validation": 0.2, "seed": 0}},
            format="json",
        )
        export_id = response.json()["id"]
        wait_for(lambda: status_of(export_id) == "succeeded", timeout=120)
    finally:
        worker.stop()

    detail = api.get(f"/api/v1/projects/banking77/exports/{export_id}").json()
    body = b"".join(
        api.get(f"/api/v1/projects/banking77/exports/{export_id}/download").streaming_content
    )
    rows = [json.loads(line) for line in body.splitlines()]
    replay = cached_replay(0)
    corrected = {
        f.prediction.request_id
        for f in Feedback.objects.filter(project=project, kind="correction").select_related(
            "prediction"
        )
        if f.corrected_label != f.prediction.predicted_label
    }
    assert response.status_code == 202
    assert detail["progress"] == 1.0 and detail["row_count"] == len(rows) == len(corrected)
    assert {r["request_id"] for r in rows} == corrected
    assert hashlib.sha256(body).hexdigest() == detail["sha256"]
    # The replay's customers correct with the true intent, except the careless few.
    careless = {f["request_id"] for f in replay.feedback if f["external_id"] in replay.careless}
    wrong = {
        r["request_id"] for r in rows if r["corrected_label"] != replay.true_label[r["request_id"]]
    }
    assert wrong and wrong <= careless
    assert set(detail["manifest"]["split_counts"]) == {"train", "validation"}
    assert AuditEvent.objects.filter(action="export_downloaded", target_id=export_id).exists()


def test_an_export_whose_worker_died_is_rebuilt_from_the_same_snapshot(project, api, tmp_path):
    response = api.post("/api/v1/projects/banking77/exports", {"format": "csv"}, format="json")
    export_id = response.json()["id"]
    purge_broker()  # its message is lost with the worker that took it
    DatasetExport.objects.filter(id=export_id).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    # Feedback arriving after the request is not part of the snapshot.
    before = DatasetExport.objects.get(id=export_id).as_of
    Feedback.objects.filter(project=project, kind="correction").update(
        received_at=before - timedelta(seconds=1)
    )
    latest = Feedback.objects.filter(project=project, kind="correction").latest("id")
    latest.received_at = before + timedelta(seconds=1)
    latest.save(update_fields=["received_at"])

    worker = Worker(tmp_path).start()
    try:
        assert exports_sweep().requeued == 1
        wait_for(lambda: status_of(export_id) == "succeeded", timeout=120)
    finally:
        worker.stop()

    export = DatasetExport.objects.get(id=export_id)
    assert export.attempts == 2
    body = open(export.file.path, "rb").read()
    assert latest.prediction.request_id.encode() not in body
    assert hashlib.sha256(body).hexdigest() == export.sha256


def test_the_same_message_delivered_to_two_live_workers_builds_one_file(project, tmp_path):
    from config.celery_app import app

    export = export_request(project=project, format="jsonl")
    purge_broker()  # the request's own message: this test delivers it by hand
    first = Worker(tmp_path / "first")
    second = Worker(tmp_path / "second", queues="duplicates")
    second.args[second.args.index("-n") + 1] = f"test-duplicate-{os.getpid()}@%h"
    for worker in (first, second):
        worker.log_path.parent.mkdir()
        worker.start()
    try:
        # A redelivery while the first worker is alive: the same task id, at the same moment.
        for queue in ("heavy", "duplicates"):
            app.send_task(DatasetExport.TASK_NAME, args=[export.id], task_id="dup", queue=queue)
        wait_for(lambda: status_of(export.id) == "succeeded", timeout=120)
        received = f"{DatasetExport.TASK_NAME}[dup] received".encode()
        wait_for(lambda: all(received in w.log_path.read_bytes() for w in (first, second)))
    finally:
        first.stop()
        second.stop()

    export.refresh_from_db()
    folder = os.path.dirname(export.file.path)
    assert export.attempts == 1, "one claim: the other delivery found it running and left it"
    assert os.listdir(folder) == [os.path.basename(export.file.path)]
    body = open(export.file.path, "rb").read()
    assert hashlib.sha256(body).hexdigest() == export.sha256
