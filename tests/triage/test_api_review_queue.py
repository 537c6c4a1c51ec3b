"""GET /api/v1/projects/{slug}/review-queue (docs/api.md) on the clustered replay."""

import pytest

from triage.models import ReviewerLabel, ReviewQueueEntry
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
    # The labels of its nearest corrected errors are suggested first.
    for row in whole:
        entry = ReviewQueueEntry.objects.get(
            category_id=row["category_id"], prediction__request_id=row["request_id"]
        )
        assert row["suggested_labels"][: len(entry.neighbour_labels)] and sorted(
            row["suggested_labels"][: len(entry.neighbour_labels)]
        ) == sorted(entry.neighbour_labels)

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


def test_reviewers_labels_are_taken_by_index_and_leave_the_queue(clustered, client_for):
    review_queue_refresh(project=clustered)
    queue_url = f"/api/v1/projects/{clustered.slug}/review-queue"
    first, second, third = client_for(clustered).get(queue_url, {"limit": 3}).json()["results"]
    api = client_for(clustered, scopes=("review",))
    url = f"/api/v1/projects/{clustered.slug}/review-labels"
    label = first["suggested_labels"][0] if first["suggested_labels"] else "card_arrival"

    response = api.post(
        url,
        {"labels": [
            {"request_id": first["request_id"], "label": label, "reviewer": "mina"},
            {"request_id": "nobody-sent-this", "label": label, "reviewer": "mina"},
            {"request_id": second["request_id"], "label": "not_a_label", "reviewer": "mina"},
            {"request_id": third["request_id"], "label": "", "reviewer": "mina"},  # skipped
            {"request_id": third["request_id"], "label": label},
            "not an object",
        ]},
        format="json",
    )  # fmt: skip

    body = response.json()
    assert response.status_code == 200
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    rejected = {r["index"]: r["errors"] for r in body["rejected"]}
    assert set(rejected) == {1, 2, 4, 5}
    assert "request_id" in rejected[1] and "label" in rejected[2] and "reviewer" in rejected[4]
    assert "item" in rejected[5]
    # Labelled and skipped leave the queue at once, and a refresh does not bring them back.
    review_queue_refresh(project=clustered)
    left = {
        r["request_id"]
        for r in client_for(clustered).get(queue_url, {"limit": 500}).json()["results"]
    }
    assert first["request_id"] not in left and third["request_id"] not in left
    assert not ReviewQueueEntry.objects.filter(
        prediction__request_id__in=[first["request_id"], third["request_id"]]
    ).exists()
    assert second["request_id"] in {
        e for e in ReviewQueueEntry.objects.values_list("prediction__request_id", flat=True)
    }

    again = api.post(
        url,
        {"labels": [{"request_id": first["request_id"], "label": "", "reviewer": "mina"}]},
        format="json",
    ).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)  # the first verdict stands
    assert ReviewerLabel.objects.get(prediction__request_id=first["request_id"]).label == label


def test_labels_need_the_review_scope_and_a_labels_list(clustered, client_for):
    url = f"/api/v1/projects/{clustered.slug}/review-labels"
    body = {"labels": []}

    assert client_for(clustered, scopes=("read",)).post(url, body, format="json").status_code == 403
    api = client_for(clustered, scopes=("review",))
    assert api.post(url, body, format="json").json() == {
        "accepted": 0, "duplicates": 0, "rejected": [],
    }  # fmt: skip
    response = api.post(url, {"label": "x"}, format="json")
    assert response.status_code == 400 and "labels" in response.content.decode()
