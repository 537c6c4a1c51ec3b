import pytest

from feedback.models import Membership
from tests.e2e.conftest import PHONE, log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_member_opens_the_project_page_without_script_errors(page, project):
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role="viewer")
    log_in(page, user)

    page.goto(f"/p/{project.slug}/")

    assert page.locator("h1").inner_text() == project.name
    assert page.evaluate("typeof window.htmx") == "object", "vendored HTMX loads"
    assert page.errors == [] and page.dialogs == []
    page.set_viewport_size(PHONE)
    assert screenshot(page, "project-home-phone").stat().st_size > 0
