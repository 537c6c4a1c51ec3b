from datetime import datetime

import pytest

from dashboards.services.rollups import rollup_pass
from feedback.models import Membership
from tests.dashboards.conftest import make_traffic
from tests.e2e.conftest import PHONE, log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_as_viewer(page, project, *, traffic: int) -> None:
    """`traffic` predictions with feedback, rolled up, and the browser logged in as a viewer."""
    make_traffic(project, n=traffic)
    rollup_pass()
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role="viewer")
    log_in(page, user)


def test_the_quality_overview_draws_every_chart_without_script_errors(page, project):
    open_as_viewer(page, project, traffic=600)

    page.goto(f"/p/{project.slug}/quality/?period=custom&since=2025-03-01&until=2025-03-10")

    assert page.locator("h1").inner_text() == "Online quality"
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() == 7
    page.wait_for_function(
        "[...document.querySelectorAll('canvas[data-chart]')].every(c => c.dataset.drawn)"
    )
    assert page.evaluate("typeof window.Chart") == "function", "vendored Chart.js loads"
    assert page.errors == [] and page.dialogs == []
    assert screenshot(page, "quality-overview").stat().st_size > 10_000

    # The numbers behind a chart are one click away, and the version filter applies.
    page.locator("#rates summary").click()
    assert page.locator("#rates table.figures tbody tr").count() >= 2
    page.locator("input[name=versions][value=v2]").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**versions=v2**")
    assert "v1" not in page.locator("#offline-online table.figures tbody").inner_text()
    page.set_viewport_size(PHONE)
    assert screenshot(page, "quality-overview-phone").stat().st_size > 0


@pytest.mark.parametrize("query", ["", "?versions=v2", "?period=7"])
def test_the_period_selector_says_which_days_the_page_shows(page, project, query):
    open_as_viewer(page, project, traffic=50)

    page.goto(f"/p/{project.slug}/quality/{query}")

    chosen = page.locator("select[name=period] option:checked").inner_text()
    since, until = page.locator("p.muted").first.inner_text().split(" UTC")[0].split(" – ")
    days = (datetime.fromisoformat(until) - datetime.fromisoformat(since)).days
    assert (chosen, days) == (("last 7 days", 7) if "7" in query else ("last 28 days", 28))
    assert page.errors == []
