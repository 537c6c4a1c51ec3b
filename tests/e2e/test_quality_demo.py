"""The issue's "done when" on the Banking77 demo, in headless Chromium: a reviewer sees that
version 2 is corrected less often than version 1, where offline and online figures disagree,
the label pairs customers correct most, where to set a confidence threshold, the channel the
model fails on, and the alert the replay's incident fired. Screenshots are kept as artifacts (quality-demo*.png)."""

from datetime import UTC, datetime

import pytest

from dashboards.services.demo import demo_alerts_setup
from feedback.demo import demo_load
from feedback.models import Membership, Project
from tests.e2e.conftest import log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

END = datetime(2025, 6, 2, tzinfo=UTC)


def percent(text: str) -> float:
    return float(text.strip().rstrip("%").strip())


def test_the_demo_shows_what_the_issue_asks_at_a_glance(page, figures):
    demo_load(slug="banking77", end=END)
    project = Project.objects.get(slug="banking77")
    # What `make run` does after the load: rollups, and the demo's rule over the history.
    rule = demo_alerts_setup(project=project)["rule"]
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role="admin")
    log_in(page, user)

    page.goto(f"/p/{project.slug}/quality/?period=custom&since=2025-04-21&until=2025-06-01")
    page.wait_for_function(
        "[...document.querySelectorAll('canvas[data-chart]')].every(c => c.dataset.drawn)"
    )
    assert page.errors == []

    # Version 2 corrects less often: the headline per version says so.
    headline = page.locator("#headline")
    rates = {
        row.locator("th").inner_text(): percent(row.locator("td.correction-rate").inner_text())
        for row in headline.locator("tbody tr").all()
    }
    assert set(rates) == {"v1", "v2"} and rates["v2"] < rates["v1"]
    assert "fewer corrections" in headline.inner_text()
    # Offline and online disagree: the gap is highlighted.
    assert page.locator("#offline-online table.figures tr.flagged").count() >= 1
    # The pairs customers correct most, linked to their categories when they have one.
    assert page.locator("#confusion table.pairs tbody tr").count() >= 5
    # Where to set a confidence threshold.
    assert page.locator("#reliability .suggested").count() >= 1
    figures.update(
        v1_correction_rate_pct=rates["v1"], v2_correction_rate_pct=rates["v2"],
        alert_events=rule.events.count(),
    )  # fmt: skip
    assert screenshot(page, "quality-demo").stat().st_size > 10_000
    # Where the model fails: the replay's kiosk is among the failing slices, with the rate of
    # each version beside it (v2 fixed it).
    failing = [li.inner_text() for li in page.locator("#segments ol.failing-slices li").all()]
    kiosk = [text for text in failing if text.startswith("channel = kiosk is corrected")]
    assert len(kiosk) == 1 and "v1:" in kiosk[0] and "v2:" in kiosk[0]
    assert not any(text.startswith("channel = app ") for text in failing)
    # v1 on its own is the headline's comparison, not repeated as a slice.
    assert not any(text.startswith("model version = v1 is") for text in failing)
    figures.update(failing_slices=failing)

    page.goto(f"/p/{project.slug}/quality/alerts/")
    events = page.locator("table.alert-events tbody tr")
    assert events.count() == 1 and "resolved" in events.first.inner_text()
    assert rule.name in page.locator("body").inner_text()
    screenshot(page, "quality-demo-alerts")
