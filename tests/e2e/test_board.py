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
