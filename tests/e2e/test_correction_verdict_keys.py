"""Judging customers' corrections from the keyboard in a browser, on a category's items and in
the inbox: j / k move between items, a accepts, r rejects, l relabels (Enter confirms); back
from each verdict the judged item has the focus, so the keys go on from there."""

import pytest
from playwright.sync_api import expect

from feedback.models import Membership
from tests.e2e.conftest import log_in, screenshot
from tests.factories import ErrorCategoryFactory, FeedbackFactory, PredictionFactory, UserFactory
from triage.models import CorrectionFlag, ItemAssignment, ReviewerLabel

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_judges_corrections_from_the_keyboard(page, project):
    project.labels = ["card_arrival", "card_not_working", "lost_card"]
    project.save(update_fields=["labels"])
    category = ErrorCategoryFactory(project=project, title="Cards")
    items = []
    for i in range(3):
        prediction = PredictionFactory(
            project=project, request_id=f"q{i}", input_text=f"my card {i}"
        )
        item = FeedbackFactory(prediction=prediction, corrected_label="card_not_working",
                               text=f"<b>wrong</b> {i}")  # fmt: skip
        ItemAssignment.objects.create(feedback=item, category=category, similarity=0.9 - i / 10)
        items.append(item)
    CorrectionFlag.objects.create(
        project=project, prediction=items[0].prediction, corrected_label="card_not_working",
        p_predicted=0.8, p_corrected=0.1, t_predicted=0.7, t_corrected=0.6,
    )  # fmt: skip
    user = UserFactory(username="mina")
    Membership.objects.create(project=project, user=user, role="reviewer")
    console = []
    page.on("console", lambda message: message.type == "error" and console.append(message.text))
    log_in(page, user)
    page.goto(f"/p/{project.slug}/categories/{category.id}/")
    expect(page.locator("#verdict-keys")).to_be_visible()
    page.click(f"#item-{items[0].id} .likely-wrong summary")  # the flag's evidence
    expect(page.locator(f"#item-{items[0].id} .likely-wrong p")).to_contain_text("80.0% sure")
    screenshot(page, "category-verdicts")
    page.evaluate("document.activeElement.blur()")

    def labels():
        return dict(ReviewerLabel.objects.values_list("prediction__request_id", "label"))

    page.keyboard.press("j")
    expect(page.locator(f"#item-{items[0].id}")).to_be_focused()
    page.keyboard.press("a")
    expect(page.locator(f"#item-{items[0].id}")).to_be_focused()  # back at the item judged
    assert labels() == {"q0": "card_not_working"}

    page.keyboard.press("j")
    expect(page.locator(f"#item-{items[1].id}")).to_be_focused()
    page.keyboard.press("r")
    expect(page.locator(f"#item-{items[1].id}")).to_be_focused()
    assert labels()["q1"] == "card_arrival"  # the model was right

    page.keyboard.press("j")
    page.keyboard.press("l")
    expect(page.locator(f"#label-{items[2].id}")).to_be_focused()
    page.keyboard.type("lost_card")
    page.keyboard.press("Enter")
    expect(page.locator(f"#item-{items[2].id}")).to_be_focused()
    assert labels()["q2"] == "lost_card"
    expect(page.locator(f"#item-{items[2].id}")).to_contain_text("mina relabelled: lost_card")

    # In the inbox (newest first): a reviewer changes their mind on the first item.
    page.goto(f"/p/{project.slug}/inbox/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator(f"#item-{items[0].id}")).to_be_focused()
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("r")
    expect(page.locator(f"#item-{items[0].id}")).to_be_focused()
    assert labels() == {"q0": "card_arrival", "q1": "card_arrival", "q2": "lost_card"}
    assert page.errors == [] and console == []
