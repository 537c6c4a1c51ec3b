"""GET /api/v1/projects/{slug}/review-queue (docs/api.md) on the clustered replay."""

import pytest

from triage.models import ReviewQueueEntry
from triage.services.review_queue import review_queue_refresh

pytestmark = pytest.mark.django_db


def test_the_queue_is_served_best_first_with_its_reasons_and_suggestions(clustered, client_for):
    review_queue_refresh(project=clustered)
    api = client_for(clustered)
    url = f"/api/v1/projects/{clustered.slug}/review-queue"

    whole = api.get(url, {"limit": 40}).json()["results"]
    assert len(whole) == 40
    assert [r["score"] for r in whole] == sorted((r["score"] for r in whole), reverse=True)
    assert len({r["request_id"] for r in whole}) == 40  # each prediction once
    first = whole[0]
    assert set(first["reasons"]) == {"similarity", "uncertainty", "label"}
    assert first["predicted_label"] not in first["suggested_labels"]

    category_id = first["category_id"]
    mine = api.get(url, {"category": category_id, "limit": 500}).json()["results"]
    assert {r["category_id"] for r in mine} == {category_id}
    assert len(mine) == ReviewQueueEntry.objects.filter(category_id=category_id).count()


def test_bad_queries_are_named(clustered, client_for):
    api = client_for(clustered)
    url = f"/api/v1/projects/{clustered.slug}/review-queue"

    assert api.get(url, {"limit": 0}).status_code == 400
    response = api.get(url, {"limit": "many"})
    assert response.status_code == 400 and "limit" in response.content.decode()
    assert api.get(url, {"category": 10**9}).status_code == 404
    assert client_for(clustered, scopes=("ingest",)).get(url).status_code == 403
