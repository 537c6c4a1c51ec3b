import pytest

from core.models import AuditEvent
from core.templatetags.ui import ident
from feedback.models import Feedback
from tests.factories import ProjectFactory
from tests.helpers import login
from triage.models import (
    ClusteringRun,
    ErrorCategory,
    ItemAssignment,
)

pytestmark = pytest.mark.django_db


def biggest():
    return ErrorCategory.objects.filter(is_unsorted=False).order_by("-size", "id")


def test_the_categories_page_lists_categories_with_escaped_titles(
    client, clustered, django_assert_max_num_queries
):
    category = biggest().first()
    category.title = "<img src=x onerror=alert(1)>"
    category.save()
    login(client, clustered, "viewer")

    with django_assert_max_num_queries(12):
        response = client.get("/p/banking77/categories/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert "Re-cluster now" not in html, "viewers cannot start runs"


def test_the_category_page_shows_items_confusions_and_trend(
    client, clustered, django_assert_max_num_queries
):
    category = biggest().first()
    login(client, clustered, "reviewer")

    # The page's reads, plus two for the segment mix (the items' metadata, the traffic's) and
    # two for the items' scores, likely-wrong flags and reviewers' verdicts.
    with django_assert_max_num_queries(24):
        response = client.get(f"/p/banking77/categories/{category.id}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert ident(category.top_confusions[0]["corrected"]) in html  # shown with the ident filter
    assert html.count('name="items"') == min(category.size, 50)
    paginator = response.context["page"].paginator
    assert paginator.count == Feedback.objects.filter(assignment__category=category).count()


def test_a_reviewer_can_start_a_run_and_watch_it(client, clustered):
    login(client, clustered, "reviewer")

    response = client.post("/p/banking77/categories/runs/new", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.content.decode()
    assert ClusteringRun.objects.filter(status="queued").count() == 1


def test_a_viewer_cannot_change_anything(client, clustered):
    category = biggest().first()
    login(client, clustered, "viewer")

    assert client.post("/p/banking77/categories/runs/new").status_code == 403
    assert (
        client.post(f"/p/banking77/categories/{category.id}/rename", {"title": "x"}).status_code
        == 403
    )
    category.refresh_from_db()
    assert category.title != "x"


def test_reviewers_rename_merge_split_and_move_from_the_page(client, clustered):
    user = login(client, clustered, "reviewer")
    first, second, third = biggest()[:3]
    base = "/p/banking77/categories"

    client.post(f"{base}/{first.id}/rename", {"title": "Card never arrives"})
    client.post(f"{base}/{second.id}/merge", {"target": third.id})
    items = list(
        ItemAssignment.objects.filter(category=first).values_list("feedback", flat=True)[:2]
    )
    client.post(f"{base}/{first.id}/items", {"action": "split", "items": items, "title": "Part"})
    moved = ItemAssignment.objects.filter(category=third).values_list("feedback", flat=True)[0]
    client.post(
        f"{base}/{third.id}/items", {"action": "move", "items": [moved], "target": first.id}
    )
    dismissed = ItemAssignment.objects.filter(category=third).values_list("feedback", flat=True)[0]
    client.post(f"{base}/{third.id}/items", {"action": "not_error", "items": [dismissed]})

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.title == "Card never arrives" and second.merged_into == third
    assert ErrorCategory.objects.get(title="Part").items.count() == 2
    assert ItemAssignment.objects.get(feedback=moved).category == first
    assert Feedback.objects.get(id=dismissed).triage_state == "not_an_error"
    assert AuditEvent.objects.filter(actor=user).count() == 5


def test_items_of_another_project_cannot_be_moved(client, clustered):
    login(client, clustered, "reviewer")
    other = ProjectFactory()
    stranger = Feedback.objects.create(project=other, kind="complaint", text="x")
    ItemAssignment.objects.create(feedback=stranger)
    category = biggest().first()

    client.post(f"/p/banking77/categories/{category.id}/items",
                {"action": "move", "items": [stranger.id], "target": category.id})  # fmt: skip

    assert ItemAssignment.objects.get(feedback=stranger).category is None


def test_a_non_member_gets_404_for_every_category_page(client, clustered):
    login(client, ProjectFactory(), "admin")
    category = biggest().first()

    for url in ["/p/banking77/categories/", f"/p/banking77/categories/{category.id}/",
                "/p/banking77/categories/runs/"]:  # fmt: skip
        assert client.get(url).status_code == 404


def test_a_category_of_another_project_is_a_404_even_for_a_member(client, clustered):
    other = ProjectFactory()
    login(client, other, "admin")
    category = biggest().first()

    assert client.get(f"/p/{other.slug}/categories/{category.id}/").status_code == 404
