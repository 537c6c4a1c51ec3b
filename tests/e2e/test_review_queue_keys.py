"""The review queue's labelling page driven from the keyboard in a browser: a digit picks a
suggested label and Enter confirms it, s skips, u takes the last verdict back."""

import pytest
from playwright.sync_api import expect

from feedback.models import Membership
from tests.e2e.conftest import log_in, screenshot
from tests.factories import ErrorCategoryFactory, PredictionFactory, UserFactory
from triage.models import ReviewerLabel, ReviewQueueEntry

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_works_the_queue_from_the_keyboard(page, project):
    project.labels = ["card_arrival", "card_delivery_estimate", "lost_card"]
    project.save(update_fields=["labels"])
    category = ErrorCategoryFactory(
        project=project,
        title="Arrival answered as an estimate",
        top_confusions=[
            {"predicted": "card_arrival", "corrected": "card_delivery_estimate", "count": 9},
            {"predicted": "card_arrival", "corrected": "lost_card", "count": 2},
        ],
    )
    for i, score in enumerate((0.9, 0.8, 0.7)):
        prediction = PredictionFactory(
            project=project, request_id=f"q{i}", input_text=f"when does my card come {i}"
        )
        ReviewQueueEntry.objects.create(
            project=project, category=category, prediction=prediction, score=score,
            similarity=0.6, uncertainty=0.7, label_affinity=1.0,
        )  # fmt: skip
    user = UserFactory(username="mina")
    Membership.objects.create(project=project, user=user, role="reviewer")
    log_in(page, user)
    page.goto(f"/p/{project.slug}/review-queue/")
    assert "when does my card come 0" in page.inner_text("#review-input")
    screenshot(page, "review-queue")

    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#review-input")).to_have_text("when does my card come 1")
    page.keyboard.press("s")
    expect(page.locator("#review-input")).to_have_text("when does my card come 2")

    verdicts = dict(ReviewerLabel.objects.values_list("prediction__request_id", "label"))
    assert verdicts == {"q0": "card_delivery_estimate", "q1": ""}
    page.keyboard.press("u")
    expect(page.locator("#review-input")).to_have_text("when does my card come 1")
    assert not ReviewerLabel.objects.filter(prediction__request_id="q1").exists()
    page.keyboard.press("/")
    page.keyboard.type("lost_card")
    page.keyboard.press("Enter")
    expect(page.locator("#review-input")).to_have_text("when does my card come 2")
    assert ReviewerLabel.objects.get(prediction__request_id="q1").label == "lost_card"
    assert page.errors == []
