import pytest
from django.utils import timezone

from feedback.links import link_token_verify
from tests.factories import FeedbackFactory, PredictionFactory

pytestmark = pytest.mark.django_db


def test_prediction_detail_shows_the_prediction_with_its_feedback(api, project):
    prediction = PredictionFactory(project=project, request_id="svc/42")
    FeedbackFactory(prediction=prediction, corrected_label="exchange_rate")

    response = api.get(f"/api/v1/projects/{project.slug}/predictions/svc/42")

    body = response.json()
    assert response.status_code == 200
    assert body["request_id"] == "svc/42"
    assert body["model_version"] == "v1"
    assert [(f["kind"], f["corrected_label"]) for f in body["feedback"]] == [
        ("correction", "exchange_rate")
    ]
    assert "customer_hash" not in body


def test_an_unknown_prediction_is_a_404(api, project):
    response = api.get(f"/api/v1/projects/{project.slug}/predictions/nope")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_projects_prediction_is_not_reachable(api, project):
    PredictionFactory(request_id="theirs")

    response = api.get(f"/api/v1/projects/{project.slug}/predictions/theirs")

    assert response.status_code == 404


def test_the_feedback_link_is_signed_for_the_prediction_and_expires(api, project, client):
    prediction = PredictionFactory(project=project, request_id="r1")
    project.feedback_link_days = 7
    project.save()

    body = api.get(f"/api/v1/projects/{project.slug}/predictions/r1/feedback-link").json()

    token = body["url"].rsplit("/f/", 1)[1]
    claims = link_token_verify(token)
    assert (claims.project_id, claims.prediction_id) == (project.id, prediction.id)
    days_left = (claims.expires_at - timezone.now()).total_seconds() / 86400
    assert 6.9 < days_left <= 7
    assert body["expires_at"].startswith(claims.expires_at.strftime("%Y-%m-%dT%H:%M"))
    assert client.get(body["url"]).status_code == 200


def test_ingest_can_return_a_feedback_link_per_accepted_prediction(api, project, client):
    items = [
        {"request_id": rid, "model_version": "v1", "input_text": "q", "predicted_label": "card_arrival"}
        for rid in ("a", "b")
    ]  # fmt: skip
    api.post(
        f"/api/v1/projects/{project.slug}/predictions", {"predictions": items[:1]}, format="json"
    )

    response = api.post(
        f"/api/v1/projects/{project.slug}/predictions?feedback_links=1",
        {"predictions": items},
        format="json",
    )

    links = response.json()["feedback_links"]
    assert list(links) == ["b"]  # "a" was a duplicate
    assert links["b"].startswith("http://testserver/f/")
    assert client.get(links["b"]).status_code == 200


def test_the_schema_documents_the_contract(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    schema = response.json()
    assert set(schema["paths"]) >= {
        "/api/v1/projects/{slug}/predictions",
        "/api/v1/projects/{slug}/feedback",
        "/api/v1/projects/{slug}/predictions/{request_id}",
        "/api/v1/projects/{slug}/predictions/{request_id}/feedback-link",
    }
    post = schema["paths"]["/api/v1/projects/{slug}/predictions"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert set(post["responses"]) == {"200", "400", "401", "403", "413", "415"}
    item = schema["components"]["schemas"]["PredictionItemRequest"]
    assert set(item["required"]) == {"request_id", "model_version", "predicted_label"}


def test_the_api_docs_load_without_any_cdn(client):
    response = client.get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "cdn" not in html.lower() and "unpkg" not in html
    assert "<script>" not in html, "inline scripts would break the CSP"
