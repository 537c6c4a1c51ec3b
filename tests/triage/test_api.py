import pytest
from rest_framework.test import APIClient

from feedback.services import api_key_create
from tests.factories import ProjectFactory
from triage.models import ClusteringRun, ClusteringSettings, ErrorCategory
from triage.services.clustering import clustering_run_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(replay_project):
    def make(project=replay_project, scopes=("read",)):
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {api_key_create(project=project, scopes=scopes)[1]}"
        )
        return client

    return make


@pytest.fixture
def clustered(replay_project, client_for):
    ClusteringSettings.objects.create(project=replay_project, representation="lsa")
    response = client_for().post("/api/v1/projects/banking77/clustering-runs", {}, format="json")
    clustering_run_execute(run_id=response.json()["id"], task_id="t")
    return replay_project


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
