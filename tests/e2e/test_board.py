"""The board in the browser: moving a card moves the column counts with it."""

import pytest
from playwright.sync_api import expect

from feedback.models import Membership
from tests.e2e.conftest import log_in
from tests.factories import ErrorCategoryFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def counts(page) -> dict[str, str]:
    return {
        state: page.locator(f".column[data-state={state}] h2 .count").inner_text()
        for state in ("new", "wont_fix")
    }


def test_moving_a_card_updates_both_column_counts_and_placeholders(page, project):
    moved, _, _ = (ErrorCategoryFactory(project=project, size=9 - i) for i in range(3))
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role="reviewer")
    log_in(page, user)
    page.goto(f"/p/{project.slug}/board/")
    before = counts(page)
    assert page.locator("#cards-wont_fix .empty").is_visible()

    card = page.locator(f"#card-{moved.id}")
    card.locator("select[name=state]").select_option("wont_fix")
    card.get_by_role("button", name="Move").click()
    page.locator(f"#cards-wont_fix #card-{moved.id}").wait_for()
    expect(page.locator(".column[data-state=wont_fix] h2 .count")).to_have_text("1")

    assert before == {"new": "3", "wont_fix": "0"}
    assert counts(page) == {"new": "2", "wont_fix": "1"}
    assert page.locator("#cards-wont_fix .empty").count() == 0
    assert page.errors == []
    # The category's history says what happened, in words.
    page.goto(f"/p/{project.slug}/categories/{moved.id}/")
    assert "moved from new to won't fix" in page.inner_text("main")


def test_the_label_filter_takes_a_labels_name_and_every_box_is_named(page, project):
    project.labels = ["card_arrival", "card_linking"]
    project.label_names = {"card_linking": "Linking a card"}
    project.save()
    arrival = ErrorCategoryFactory(
        project=project, labels={"predicted": {"card_arrival": 3}, "corrected": {}}
    )
    linking = ErrorCategoryFactory(
        project=project, labels={"predicted": {}, "corrected": {"card_linking": 2}}
    )
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role="viewer")
    log_in(page, user)
    found = {}
    for typed in ("Card arrival", "card_arrival", "linking a card"):
        page.goto(f"/p/{project.slug}/board/")
        page.fill("form.filters input[name=label]", typed)
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url("**label=**")
        found[typed] = {
            int(c.get_attribute("data-category")) for c in page.locator(".category-card").all()
        }

    unnamed = page.evaluate(
        """() => [...document.querySelectorAll("form.filters input, form.filters select")]
              .filter((box) => !box.labels.length && !box.getAttribute("aria-label"))
              .map((box) => box.name)"""
    )
    assert found == {"Card arrival": {arrival.id}, "card_arrival": {arrival.id},
                     "linking a card": {linking.id}}  # fmt: skip
    assert unnamed == [] and page.errors == []
