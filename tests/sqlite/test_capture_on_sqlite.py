"""Feedback capture on the embedded default: SQLite, the file cache, the filesystem broker."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from feedback.imports import import_job_run, import_job_start, import_job_upload
from feedback.models import Feedback
from feedback.services import feedback_link_token
from tests.conftest import Worker, purge_broker, wait_for
from tests.factories import PredictionFactory

pytestmark = pytest.mark.sqlite


@pytest.fixture(autouse=True)
def _only_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("runs in the SQLite phase of `make test`")


@pytest.mark.django_db
def test_the_customer_page_rate_limit_works_on_the_file_cache(client, project, settings):
    assert settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache")
    settings.VOC_FEEDBACK_RATE_PER_TOKEN = (2, 3600)
    prediction = PredictionFactory(project=project)
    token, _ = feedback_link_token(project=project, prediction_id=prediction.id)
    address = f"10.9.{prediction.id % 250}.{project.id % 250}"

    codes = [client.get(f"/f/{token}", REMOTE_ADDR=address).status_code for _ in range(3)]

    assert codes == [200, 200, 429]


@pytest.mark.django_db(transaction=True)
def test_a_csv_import_runs_in_the_embedded_worker(project, tmp_path):
    content = "Ticket,Created,Body,Who\n" + "".join(
        f"T-{i},2025-01-02 10:{i:02d},{'same again' if i % 2 else f'row {i}'},c1\n"
        for i in range(40)
    )
    job = import_job_upload(project=project, upload=SimpleUploadedFile("t.csv", content.encode()))
    purge_broker()
    worker = Worker(tmp_path).start()
    try:
        import_job_start(
            job=job,
            mapping={"text": "Body", "created_at": "Created", "external_id": "Ticket",
                     "customer_ref": "Who"},
        )  # fmt: skip
        wait_for(lambda: job.__class__.objects.get(id=job.id).status == "succeeded", timeout=120)
    finally:
        worker.stop()
    job.refresh_from_db()
    assert settings.CELERY_BROKER_URL == "filesystem://"
    assert (job.status, job.rows_accepted, job.rows_repeated) == ("succeeded", 21, 19)
    import_job_run(job_id=job.id)  # a late duplicate message changes nothing
    assert Feedback.objects.get(text="same again").repeat_count == 20
