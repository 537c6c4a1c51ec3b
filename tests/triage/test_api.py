"""The triage API on the replay after one clustering run, requested through the API.

The clustered replay is shared by this module's tests (tests/triage/conftest.py); requesting
runs on the unclustered replay is in test_api_run_requests.py."""

import pytest
from rest_framework.test import APIClient

from feedback.services import api_key_create
from tests.factories import ProjectFactory
from tests.triage.conftest import cluster
from triage.models import ClusteringRun, ErrorCategory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def clustered_replay(shared_replay, django_db_blocker):
    """Here the run is requested through the API, as a client asks for it."""

    def request_run(project):
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {api_key_create(project=project, scopes=('read',))[1]}"
        )
        response = client.post("/api/v1/projects/banking77/clustering-runs", {}, format="json")
        return response.json()["id"]

    return cluster(shared_replay, django_db_blocker, request_run)


def test_a_run_reports_its_outcome(clustered, client_for):
    run = ClusteringRun.objects.get()

    body = client_for().get(f"/api/v1/projects/banking77/clustering-runs/{run.id}").json()

    assert body["status"] == "succeeded"
    assert body["n_items"] == run.n_items and body["n_categories"] == run.n_categories
    assert set(body) == {
        "id",
        "status",
        "started_at",
        "finished_at",
        "n_items",
        "n_categories",
        "error",
    }


def test_categories_are_listed_biggest_first_with_their_confusions(clustered, client_for):
    body = client_for().get("/api/v1/projects/banking77/categories?page_size=5").json()

    assert body["count"] == ErrorCategory.objects.filter(merged_into__isnull=True).count()
    first = body["results"][0]
    assert set(first) >= {"id", "title", "keywords", "state", "size", "owner_team", "first_seen",
                          "last_seen", "top_confusions"}  # fmt: skip
    assert [c["size"] for c in body["results"]] == sorted(
        [c["size"] for c in body["results"]], reverse=True
    )
    assert set(first["top_confusions"][0]) == {"predicted", "corrected", "count"}


def test_a_categorys_items_carry_their_prediction(clustered, client_for):
    category = ErrorCategory.objects.filter(is_unsorted=False).order_by("-size").first()

    body = client_for().get(f"/api/v1/projects/banking77/categories/{category.id}/items").json()

    assert body["count"] == category.size
    item = body["results"][0]
    assert set(item) == {"feedback_id", "external_id", "kind", "request_id", "text",
                         "predicted_label", "corrected_label"}  # fmt: skip
    linked = [i for i in body["results"] if i["request_id"]]
    assert linked and all(i["predicted_label"] for i in linked)


def test_another_projects_runs_and_categories_are_out_of_reach(clustered, client_for):
    outsider = client_for(project=ProjectFactory())
    category = ErrorCategory.objects.first()
    run = ClusteringRun.objects.get()

    for url in [
        f"/api/v1/projects/banking77/categories/{category.id}/items",
        f"/api/v1/projects/banking77/clustering-runs/{run.id}",
        "/api/v1/projects/banking77/categories",
    ]:
        assert outsider.get(url).status_code == 403
    own = client_for(project=ProjectFactory(slug="own"))
    assert own.get(f"/api/v1/projects/own/categories/{category.id}/items").status_code == 404
    assert own.get(f"/api/v1/projects/own/clustering-runs/{run.id}").status_code == 404


def test_an_ingest_only_key_cannot_read_categories(clustered, client_for):
    assert (
        client_for(scopes=("ingest",)).get("/api/v1/projects/banking77/categories").status_code
        == 403
    )
