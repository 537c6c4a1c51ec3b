"""A worker killed in the middle of a dataset export (SIGKILL of the pool child, then of the
whole worker): the export is redone, never half-written, and no partial file stays behind."""

import glob
import hashlib
import os
import signal
from pathlib import Path

import pytest

from feedback.ingest import feedback_ingest, prediction_ingest
from feedback.models import Project
from tests.conftest import Worker, purge_broker, wait_for
from tests.factories import ProjectFactory
from triage.models import DatasetExport
from triage.services.export_build import exports_sweep
from triage.services.exports import export_request

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROWS = 150_000


@pytest.fixture
def project(transactional_db):
    project = ProjectFactory(labels=[])
    for start in range(0, ROWS, 10_000):
        ids = range(start, start + 10_000)
        prediction_ingest(project=project, items=[
            {"request_id": f"r{i}", "model_version": "v1", "input_text": f"question {i}",
             "predicted_label": f"label-{i % 50}"} for i in ids])  # fmt: skip
        feedback_ingest(project=project, items=[
            {"kind": "correction", "request_id": f"r{i}", "corrected_label": f"right-{i % 49}"}
            for i in ids])  # fmt: skip
    purge_broker()  # the ingest's follow-up messages: this test is about the export
    return project


def state(export_id) -> tuple[str, int]:
    export = DatasetExport.objects.get(id=export_id)
    return export.status, export.items_done


def parts(project: Project) -> list[str]:
    folder = DatasetExport.file.field.storage.path(f"exports/{project.id}")
    return glob.glob(os.path.join(folder, "*.part"))


def kill_when_half_way(export_id, kill) -> None:
    wait_for(lambda: state(export_id)[0] == "running" and state(export_id)[1] > 0, timeout=120,
             interval=0.05)  # fmt: skip
    kill()
    assert state(export_id)[0] == "running", "the kill came after the export finished"
    assert not DatasetExport.objects.get(id=export_id).file, "a half-built file was published"


def check_complete(export_id) -> None:
    export = DatasetExport.objects.get(id=export_id)
    assert export.status == "succeeded" and export.row_count == ROWS
    body = Path(export.file.path).read_bytes()
    assert body.count(b"\n") == ROWS
    assert hashlib.sha256(body).hexdigest() == export.sha256


def test_a_killed_export_is_redone_whole(project, tmp_path, settings, figures):
    # A job is taken back only once its heartbeat is stale (core.jobs); seconds here.
    settings.VOC_JOB_STALE_SECONDS = 4
    # 1. The pool child dies: Celery redelivers the message at once, but the export's
    # heartbeat is still fresh, so the new child leaves it (it cannot tell a dead worker from
    # a live one yet); once the heartbeat is stale the sweeper queues it again.
    worker = Worker(tmp_path)
    worker.env["VOC_JOB_HEARTBEAT_SECONDS"] = "1"
    worker.start()
    try:
        first = export_request(project=project, format="jsonl").id
        children = Path(f"/proc/{worker.process.pid}/task/{worker.process.pid}/children")
        kill_when_half_way(
            first, lambda: [os.kill(int(c), signal.SIGKILL) for c in children.read_text().split()]
        )
        wait_for(lambda: exports_sweep().requeued == 1, timeout=60, interval=1)
        wait_for(lambda: state(first)[0] == "succeeded", timeout=300)
    finally:
        worker.stop()

    # 2. The whole worker dies: its message waits for the visibility timeout, so the
    # sweeper notices the silent heartbeat and queues the export again.
    worker = Worker(tmp_path).start()
    try:
        second = export_request(project=project, format="jsonl").id
        kill_when_half_way(second, lambda: worker.kill(signal.SIGKILL))
    finally:
        worker.stop()
    wait_for(lambda: exports_sweep().requeued == 1, timeout=30, interval=1)
    worker = Worker(tmp_path).start()
    try:
        wait_for(lambda: state(second)[0] == "succeeded", timeout=300)
    finally:
        worker.stop()

    for export_id in (first, second):
        check_complete(export_id)
    left = parts(project)
    figures.update(
        rows=ROWS, exports_killed=2,
        completed_after_restart=DatasetExport.objects.filter(status="succeeded").count(),
        attempts=[DatasetExport.objects.get(id=i).attempts for i in (first, second)],
        partial_files_left=len(left),
    )  # fmt: skip
    assert figures["completed_after_restart"] == 2
    assert left == []
