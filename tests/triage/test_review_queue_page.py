"""The review queue's labelling page on the clustered replay: one item at a time, claimed so
two reviewers never get the same one, a verdict moves on, skip, undo, and viewers read only."""

import pytest
from django.test import Client

from tests.helpers import login
from triage.models import ReviewerLabel, ReviewQueueEntry
from triage.services.review_queue import review_queue_refresh

pytestmark = pytest.mark.django_db


def shown(response) -> str:
    assert response.status_code == 200
    return response.context["prediction"].request_id


def test_a_reviewer_labels_skips_and_undoes_and_another_gets_other_items(clustered):
    review_queue_refresh(project=clustered)
    url = f"/p/{clustered.slug}/review-queue/"
    mina, joon = Client(), Client()
    login(mina, clustered, "reviewer", username="mina")
    login(joon, clustered, "reviewer", username="joon")

    first = mina.get(url)
    page = first.content.decode()
    item = shown(first)
    assert shown(mina.get(url)) == item  # held: a reload shows the same item
    assert shown(joon.get(url)) != item  # claimed: the other reviewer gets another
    suggested = first.context["suggested"]
    assert 'data-key="1"' in page and "review-queue.js" in page
    # The labels of its nearest corrected errors come first, on keys 1, 2, ...
    neighbours = first.context["entry"].neighbour_labels
    assert neighbours and sorted(suggested[: len(neighbours)]) == sorted(neighbours)
    assert f'value="{suggested[0]}" data-key="1"' in page

    label = suggested[0] if suggested else "card_arrival"
    after = mina.post(f"{url}label", {"request_id": item, "label": label}, follow=True)
    second = shown(after)
    assert second != item
    verdict = ReviewerLabel.objects.get(prediction__request_id=item)
    assert (verdict.reviewer, verdict.label) == ("mina", label)

    skipped = shown(mina.post(f"{url}label", {"request_id": second, "skip": "1"}, follow=True))
    assert ReviewerLabel.objects.get(prediction__request_id=second).label == ""
    assert skipped not in (item, second)

    undone = mina.post(f"{url}undo", follow=True)
    assert shown(undone) == second  # the skipped item is back in front of her
    assert not ReviewerLabel.objects.filter(prediction__request_id=second).exists()
    # A typed label wins over a suggested one left checked.
    typed = next(name for name in sorted(clustered.labels) if name != label)
    mina.post(f"{url}label", {"request_id": second, "label": label, "other": typed})
    assert ReviewerLabel.objects.get(prediction__request_id=second).label == typed
    # Neither verdict's prediction is served again by the queue.
    labelled = {item, second}
    assert not labelled & set(
        ReviewQueueEntry.objects.exclude(prediction__reviewer_labels__isnull=False).values_list(
            "prediction__request_id", flat=True
        )
    )


def test_bad_verdicts_are_said_and_viewers_cannot_label(clustered, client):
    review_queue_refresh(project=clustered)
    url = f"/p/{clustered.slug}/review-queue/"
    login(client, clustered, "reviewer")
    item = shown(client.get(url))

    response = client.post(f"{url}label", {"request_id": item, "label": "not_a_label"}, follow=True)
    assert "not in the project" in response.content.decode()
    response = client.post(f"{url}label", {"request_id": item}, follow=True)
    assert "Pick a label, or skip." in response.content.decode()
    assert not ReviewerLabel.objects.exists()

    viewer = Client()
    login(viewer, clustered, "viewer")
    assert viewer.get(url).status_code == 403
    assert viewer.post(f"{url}label", {"request_id": item, "skip": "1"}).status_code == 403
