"""Requesting clustering runs through the API, on the unclustered replay (the rest of the
triage API is in test_api.py, on a clustered one)."""

import pytest

from triage.models import ClusteringRun

pytestmark = pytest.mark.django_db


def test_requesting_a_run_queues_it_once(
    replay_project, client_for, django_capture_on_commit_callbacks
):
    client = client_for()

    with django_capture_on_commit_callbacks() as published:
        first = client.post("/api/v1/projects/banking77/clustering-runs", {}, format="json")
    again = client.post("/api/v1/projects/banking77/clustering-runs", {}, format="json")

    assert first.status_code == 202 and first.json()["status"] == "queued"
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(published) == 1 and ClusteringRun.objects.count() == 1


def test_a_run_window_must_be_ordered(replay_project, client_for):
    response = client_for().post(
        "/api/v1/projects/banking77/clustering-runs",
        {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"]["since"]
