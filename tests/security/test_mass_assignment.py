"""Mass assignment: writes that also send project, ids, state, authorship or staff flags store
only what the operation is for."""

import pytest
from django.contrib.auth import get_user_model

from feedback.models import Feedback, Prediction
from tests.factories import ErrorCategoryFactory, PredictionFactory, ProjectFactory, UserFactory
from tests.helpers import login
from triage.models import ClusteringRun, Comment, ErrorCategory, ImprovementPoint

pytestmark = pytest.mark.django_db

FORGED = {
    "id": 987654, "pk": 987654, "project": None, "project_id": None, "is_staff": True,
    "is_superuser": True, "created_by": None, "author": None, "author_id": None,
    "repeat_count": 77, "superseded_at": "2020-01-01T00:00:00Z", "status": "succeeded",
    "state": "fixed", "api_key": 1, "customer_hash": "forged", "triage_state": "done",
    "dedup_key": "forged",
}  # fmt: skip


@pytest.fixture
def other():
    """Another project and user whose ids the forged fields name."""
    return ProjectFactory(), UserFactory()


def forged(other) -> dict:
    project_b, user_b = other
    return {
        **FORGED,
        **{key: project_b.id for key in ("project", "project_id")},
        **{key: user_b.id for key in ("created_by", "author", "author_id")},
    }


def test_ingested_predictions_keep_only_their_own_fields(api, project, other):
    item = {"request_id": "r1", "model_version": "v1", "input_text": "hello",
            "predicted_label": "card_arrival", **forged(other)}  # fmt: skip
    response = api.post(
        f"/api/v1/projects/{project.slug}/predictions", {"predictions": [item]}, format="json"
    )
    assert response.status_code == 200
    stored = Prediction.objects.get(request_id="r1")
    assert stored.project_id == project.id and stored.id != 987654
    assert not Prediction.objects.filter(project=other[0]).exists()


def test_ingested_feedback_keeps_only_its_own_fields(api, project, other):
    PredictionFactory(project=project, request_id="r1")
    item = {"kind": "complaint", "request_id": "r1", "text": "wrong", **forged(other)}
    response = api.post(
        f"/api/v1/projects/{project.slug}/feedback", {"feedback": [item]}, format="json"
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    stored = Feedback.objects.get(project=project)
    assert stored.id != 987654 and stored.superseded_at is None
    assert stored.customer_hash != "forged" and stored.dedup_key != "forged"
    assert stored.repeat_count == 1 and stored.triage_state != "done"
    assert not Feedback.objects.filter(project=other[0]).exists()


def test_a_clustering_run_request_cannot_set_its_outcome(api, project, other):
    response = api.post(
        f"/api/v1/projects/{project.slug}/clustering-runs", forged(other), format="json"
    )
    assert response.status_code == 202
    run = ClusteringRun.objects.get(id=response.json()["id"])
    assert run.project_id == project.id and run.status == "queued" and run.id != 987654


@pytest.fixture
def reviewer(client, project):
    return login(client, project, "reviewer")


def test_page_writes_keep_authorship_project_and_flags(client, project, reviewer, other, figures):
    category = ErrorCategoryFactory(project=project, title="Old title")
    base = f"/p/{project.slug}/categories/{category.id}"
    client.post(f"{base}/rename", {"title": "New title", **forged(other)})
    client.post(f"{base}/comments", {"body": "looks like delivery", **forged(other)})
    client.post(
        f"/p/{project.slug}/improvements/new",
        {"title": "Relabel", "kind": "training_data", "categories": [category.id],
         "state": "proposed", **{k: v for k, v in forged(other).items() if k != "state"}},
    )  # fmt: skip

    category.refresh_from_db()
    comment = Comment.objects.get(category=category)
    point = ImprovementPoint.objects.get(title="Relabel")
    reviewer.refresh_from_db()
    checks = {
        "category kept its project and state": (category.title, category.project_id,
                                                category.state) == ("New title", project.id, "new"),
        "comment author is the writer": comment.author_id == reviewer.id,
        "comment stays in the project": comment.project_id == project.id,
        "point stays in the project": point.project_id == project.id,
        "point author is the writer": point.created_by_id == reviewer.id,
        "point id not chosen": point.id != 987654,
        "writer not made staff": not reviewer.is_staff and not reviewer.is_superuser,
        "no one made staff": not get_user_model().objects.filter(is_staff=True).exists(),
        "nothing written to B": not ErrorCategory.objects.filter(project=other[0]).exists(),
    }  # fmt: skip
    honoured = [name for name, held in checks.items() if not held]
    figures.update(
        page_writes=3, forged_fields_per_write=len(FORGED), forged_values_kept=len(honoured)
    )
    assert honoured == []
