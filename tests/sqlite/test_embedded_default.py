"""The zero-configuration default of `make run`: SQLite and kombu's filesystem broker."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from feedback.models import Feedback, Prediction, Project
from tests.conftest import Worker, purge_broker, wait_for
from triage.models import ItemAssignment

pytestmark = pytest.mark.sqlite


@pytest.fixture(autouse=True)
def _only_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("runs in the SQLite phase of `make test`")


@pytest.mark.django_db
def test_the_embedded_default_needs_no_server():
    assert settings.CELERY_BROKER_URL == "filesystem://"
    assert connection.vendor == "sqlite"


@pytest.mark.django_db
def test_ingest_is_idempotent_on_sqlite(api, project):
    batch = {"predictions": [{"request_id": f"r{i}", "model_version": "v1", "input_text": "q",
                              "predicted_label": "card_arrival"} for i in range(50)]}  # fmt: skip
    url = f"/api/v1/projects/{project.slug}/predictions"

    first = api.post(url, batch, format="json").json()
    again = api.post(url, batch, format="json").json()

    assert (first["accepted"], again["duplicates"]) == (50, 50)
    assert Prediction.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_the_demo_loads_and_a_real_worker_processes_it(tmp_path):
    purge_broker()
    worker = Worker(tmp_path).start()
    try:
        call_command("load_demo", "--user", "")

        project = Project.objects.get(slug="banking77")
        assert Prediction.objects.filter(project=project).count() == 3080
        total = Feedback.objects.filter(project=project).count()
        assert total > 1000
        wait_for(lambda: ItemAssignment.objects.count() == total, timeout=90)
    finally:
        worker.stop()
