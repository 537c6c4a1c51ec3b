"""The reviewer's weekly meeting, end to end in headless Chromium."""

import pytest

from feedback.models import Membership, Project
from tests.e2e.conftest import DESKTOP, PHONE, log_in, screenshot
from tests.factories import UserFactory
from tests.triage.conftest import REPLAY_END, cached_replay
from triage.models import ClusteringSettings, ErrorCategory, ImprovementPoint
from triage.services.clustering import clustering_run_execute, clustering_run_request

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reviewer(transactional_db, monkeypatch):
    from feedback.demo import demo_load

    monkeypatch.setattr("feedback.demo.build_replay", lambda *a, **k: cached_replay(0))
    demo_load(slug="banking77", end=REPLAY_END)
    project = Project.objects.get(slug="banking77")
    ClusteringSettings.objects.create(project=project, representation="lsa")
    run, _ = clustering_run_request(project=project)
    clustering_run_execute(run_id=run.id, task_id="e2e")
    user = UserFactory(username="rita")
    Membership.objects.create(project=project, user=user, role="reviewer", team="data")
    return user


def biggest():
    return ErrorCategory.objects.filter(is_unsorted=False, merged_into__isnull=True).order_by(
        "-size", "id"
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_reviewer_runs_the_weekly_meeting_from_the_review_page_and_the_board(
    page, reviewer, viewport
):
    page.set_viewport_size(viewport)
    log_in(page, reviewer)
    name = "desktop" if viewport == DESKTOP else "phone"
    keep, absorbed = biggest()[0], biggest()[1]

    # Open this week's review.
    page.goto("/p/banking77/reviews/")
    page.get_by_role("button", name="Start this week's review").click()
    page.wait_for_selector("#agenda-unowned")
    screenshot(page, f"review-{name}")

    # Merge two categories.
    page.goto(f"/p/banking77/categories/{absorbed.id}/")
    page.select_option('form[action$="/merge"] select[name=target]', str(keep.id))
    page.get_by_role("button", name="Merge into it").click()
    page.wait_for_url(f"**/categories/{keep.id}/")
    assert "Merged into" in page.inner_text(".messages")

    # Assign an owner from the agenda, in place (HTMX).
    page.goto(page.url.split("/p/")[0] + "/p/banking77/reviews/")
    page.locator("table a").first.click()
    row = page.locator(f"#agenda-unowned #agenda-{keep.id}")
    row.locator("select[name=owner_team]").select_option("data")
    row.get_by_role("button", name="Set owner").click()
    page.locator(f"#agenda-{keep.id} .chip", has_text="data team").wait_for()

    # Create an improvement point of kind training_data from the category.
    page.goto(f"/p/banking77/categories/{keep.id}/")
    page.get_by_role("link", name="New improvement point").first.click()
    page.fill("#id_title", "Add examples of this intent to the training set")
    page.select_option("#id_kind", "training_data")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url("**/improvements/*/")

    # Move it to done with the version that shipped it.
    page.select_option("#id_state", "done")
    page.select_option("#id_done_in_version", label="v2")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector(".messages")
    point = ImprovementPoint.objects.get()
    assert (point.state, point.kind, point.done_in_version.version) == (
        "done",
        "training_data",
        "v2",
    )

    # The board shows the category fixed in v2.
    page.goto("/p/banking77/board/")
    card = page.locator(f"#cards-fixed #card-{keep.id}")
    assert "Fixed in v2" in card.inner_text()
    screenshot(page, f"board-{name}")
    assert page.errors == [] and page.dialogs == []


def test_the_agenda_says_how_many_more_and_a_closed_one_keeps_its_links(page, reviewer):
    log_in(page, reviewer)
    live = ErrorCategory.objects.filter(is_unsorted=False, merged_into__isnull=True)
    page.goto("/p/banking77/reviews/")
    page.get_by_role("button", name="Start this week's review").click()
    page.wait_for_selector("#agenda-new")
    new_count = live.count()  # the demo's categories are all new to its first review
    shown = page.locator("#agenda-new li.agenda-row").count()

    more = page.locator("#agenda-new li.agenda-more").inner_text()
    page.get_by_role("button", name="Save and close the review").click()
    page.wait_for_selector("#agenda-frozen")
    frozen_more = page.locator("#agenda-frozen li.agenda-more").first.inner_text()
    first = page.locator("#agenda-frozen a[href*='/categories/']").first
    first.click()
    page.wait_for_url("**/categories/*/")

    assert new_count > shown == 20
    assert more.startswith(f"and {new_count - 20} more") and frozen_more.startswith(more[:12])
    assert page.locator("h1").count() == 1 and page.errors == []
