"""Feedback capture on PostgreSQL with a real worker: CSV imports survive a killed worker,
and concurrent writers of the same complaint or the same customer page never double-store."""

import threading
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone

from feedback import imports
from feedback.customer_page import widget_details_set, widget_rating_set
from feedback.ingest import feedback_ingest
from feedback.models import Feedback, ImportJob
from feedback.services import api_key_create
from tests.conftest import Worker, wait_for
from tests.factories import PredictionFactory, ProjectFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROWS = 30_000


def export(rows: int) -> bytes:
    lines = ["Ticket,Created,Body,Customer"]
    for i in range(rows):
        body = "" if i % 1000 == 7 else f"complaint number {i}, please help"
        lines.append(f'T-{i},2025-01-{1 + i % 28:02d} {i % 24:02d}:00,"{body}",c{i % 500}')
    return ("\n".join(lines) + "\n").encode()


def status(job_id):
    return ImportJob.objects.get(id=job_id)


def test_an_api_upload_is_imported_by_the_worker_and_resumes_after_a_kill(
    live_server, celery_worker, tmp_path
):
    project = ProjectFactory(labels=[])
    _, key = api_key_create(project=project, scopes=["ingest"])
    response = requests.post(
        f"{live_server.url}/api/v1/projects/{project.slug}/imports",
        files={"file": ("tickets.csv", export(ROWS), "text/csv")},
        data={"text_column": "Body"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]

    wait_for(lambda: status(job_id).rows_read >= 2 * imports.BATCH, timeout=60, interval=0.05)
    celery_worker.kill()  # SIGKILL mid-import: no chance to clean up
    job = status(job_id)
    assert job.status == ImportJob.Status.RUNNING and 0 < job.rows_read < ROWS

    # Time passes without a heartbeat; the beat's sweeper requeues it for a new worker.
    ImportJob.objects.filter(id=job_id).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert imports.import_jobs_sweep().requeued == 1
    (tmp_path / "second").mkdir()
    second = Worker(tmp_path / "second").start()
    try:
        job = wait_for(lambda: (j := status(job_id)).status == "succeeded" and j, timeout=180)
    finally:
        second.stop()

    rejected = len([i for i in range(ROWS) if i % 1000 == 7])
    assert (job.rows_read, job.rows_rejected, job.attempts) == (ROWS, rejected, 2)
    assert job.rows_accepted + job.rows_repeated + job.rows_duplicate == ROWS - rejected
    assert Feedback.objects.filter(project=project).count() == job.rows_accepted
    report = requests.get(
        f"{live_server.url}/api/v1/projects/{project.slug}/imports/{job_id}/report",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "line,column,message" and len(lines) == 1 + rejected
    assert lines[1].startswith("9,Body,Empty")


def run_concurrently(functions):
    barrier = threading.Barrier(len(functions))
    errors = []

    def run(function):
        try:
            barrier.wait()
            function()
        except Exception as exc:  # reported below, with the thread's own traceback lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f,)) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_same_complaint_sent_concurrently_is_stored_once_with_its_count():
    project = ProjectFactory()
    item = {"kind": "complaint", "text": "The app crashes", "customer_ref": "c-1"}

    run_concurrently([lambda: feedback_ingest(project=project, items=[item])] * 8)

    assert list(Feedback.objects.values_list("repeat_count", flat=True)) == [8]


def test_two_tabs_sending_at_once_leave_one_current_answer_of_each_kind():
    project = ProjectFactory()
    prediction = PredictionFactory(project=project)

    run_concurrently(
        [lambda r=rating: widget_rating_set(prediction=prediction, rating=r) for rating in (1, -1) * 3]
        + [lambda t=t: widget_details_set(prediction=prediction, corrected_label="", text=t)
           for t in "abcd"]
    )  # fmt: skip

    current = Feedback.objects.filter(prediction=prediction, superseded_at__isnull=True)
    assert sorted(current.values_list("kind", flat=True)) == ["complaint", "rating"]
