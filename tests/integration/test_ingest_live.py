"""Ingest through a live HTTP server on PostgreSQL, with a real Celery worker on Redis."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from feedback.models import Feedback, Prediction
from feedback.services import api_key_create
from tests.conftest import wait_for
from tests.factories import ProjectFactory
from triage.models import ItemAssignment

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_project(transactional_db):
    project = ProjectFactory(labels=[])
    _, key = api_key_create(project=project, scopes=["ingest", "read"])
    return project, {"Authorization": f"Bearer {key}"}


def test_concurrent_identical_batches_store_each_prediction_once(live_server, live_project):
    project, headers = live_project
    batch = {
        "predictions": [
            {"request_id": f"r-{i}", "model_version": "v1", "input_text": f"query {i}",
             "predicted_label": f"label-{i % 7}"}
            for i in range(200)
        ]
    }  # fmt: skip
    url = f"{live_server.url}/api/v1/projects/{project.slug}/predictions"

    def send(_):
        return requests.post(url, json=batch, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(send, range(16)))

    assert [r.status_code for r in responses] == [200] * 16
    assert sum(r.json()["accepted"] for r in responses) == 200
    assert sum(r.json()["duplicates"] for r in responses) == 200 * 15
    assert Prediction.objects.filter(project=project).count() == 200


def test_feedback_reaches_the_worker_after_commit(live_server, live_project, celery_worker):
    project, headers = live_project
    base = f"{live_server.url}/api/v1/projects/{project.slug}"
    requests.post(
        f"{base}/predictions",
        json={"predictions": [{"request_id": "r1", "model_version": "v1", "input_text": "q",
                               "predicted_label": "a"}]},
        headers=headers, timeout=30,
    )  # fmt: skip

    response = requests.post(
        f"{base}/feedback",
        json={"feedback": [{"kind": "complaint", "text": "wrong again"},
                           {"kind": "correction", "request_id": "r1", "corrected_label": "b"}]},
        headers=headers, timeout=30,
    )  # fmt: skip

    assert response.json()["accepted"] == 2
    ids = set(Feedback.objects.values_list("id", flat=True))
    wait_for(lambda: set(ItemAssignment.objects.values_list("feedback_id", flat=True)) == ids)
    assert "triage.feedback_process" in celery_worker.output()
