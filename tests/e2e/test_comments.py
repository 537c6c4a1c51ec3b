"""Comments on a category in the browser: the first one replaces the placeholder, and the box
empties once it is sent."""

import pytest

from feedback.models import Membership
from tests.e2e.conftest import log_in
from tests.factories import ErrorCategoryFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_first_comment_replaces_the_placeholder_and_empties_the_box(page, project):
    category = ErrorCategoryFactory(project=project, title="Card arrival")
    user = UserFactory(username="dana")
    Membership.objects.create(project=project, user=user, role="reviewer")
    log_in(page, user)
    page.goto(f"/p/{project.slug}/categories/{category.id}/")
    assert page.locator("#no-comments").is_visible()

    box = page.locator("#comments + form textarea[name=body]")
    box.fill("Looks like the **v3** regression.")
    with page.expect_response(lambda r: "/comments" in r.url and r.ok):
        page.get_by_role("button", name="Comment").click()

    page.locator("#comments article.comment").first.wait_for()
    assert page.locator("#no-comments").count() == 0
    assert page.locator("#comments article.comment strong").inner_text() == "v3"
    assert box.input_value() == ""
    assert page.errors == []
