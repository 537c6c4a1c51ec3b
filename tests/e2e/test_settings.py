"""The project settings page in the browser: reached from the navigation, saved in one go."""

import pytest

from feedback.models import Membership
from tests.e2e.conftest import log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_names_a_label_for_customers_from_the_settings_page(page, project):
    project.labels = ["card_arrival", "card_linking"]
    project.save()
    admin = UserFactory()
    Membership.objects.create(project=project, user=admin, role="admin")
    log_in(page, admin)
    page.goto(f"/p/{project.slug}/board/")

    page.locator(".project-head a.role").click()  # "Admin" in the navigation leads here
    page.wait_for_url("**/settings/")
    page.fill("#id_project-label_names", "card_arrival = Card delivery")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/settings/")
    screenshot(page, "settings")

    project.refresh_from_db()
    assert project.label_names == {"card_arrival": "Card delivery"}
    assert page.inner_text(".messages") == "Saved."
    assert page.errors == []
