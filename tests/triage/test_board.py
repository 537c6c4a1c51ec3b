"""The review board, triage decisions, comments and their security."""

import pytest
from django.core import mail

from core.models import AuditEvent
from tests.factories import ProjectFactory, UserFactory
from tests.helpers import login, member
from triage.models import (
    Comment,
    ErrorCategory,
)
from triage.notifications import mentions_notify
from triage.services.comments import comment_add

pytestmark = pytest.mark.django_db


def live():
    return ErrorCategory.objects.filter(is_unsorted=False, merged_into__isnull=True)


def test_the_board_shows_every_category_in_its_states_column(
    client, clustered, django_assert_max_num_queries
):
    planned = live().order_by("-size").first()
    planned.state = "planned"
    planned.save()
    login(client, clustered, "viewer")

    with django_assert_max_num_queries(8):
        response = client.get("/p/banking77/board/")

    columns = {state: (cards, total) for state, _, cards, total in response.context["columns"]}
    assert [c.id for c in columns["planned"][0]] == [planned.id]
    assert columns["new"][1] == live().count() - 1
    assert len(columns["new"][0]) == 40, "a long column shows its first cards"
    expanded = client.get("/p/banking77/board/?expand=new")
    new_column = next(cards for state, _, cards, _ in expanded.context["columns"] if state == "new")
    assert len(new_column) == live().count() - 1
    assert 'name="state"' not in response.content.decode(), "viewers get no move controls"


def test_board_filters_narrow_the_cards(client, clustered):
    login(client, clustered, "reviewer")
    big = live().order_by("-size").first()
    big.owner_team = "data"
    big.save()
    label = next(iter(big.labels["corrected"]))

    def ids(query):
        response = client.get(f"/p/banking77/board/?{query}")
        return {c.id for _, _, cards, _ in response.context["columns"] for c in cards}

    assert ids("team=data") == {big.id}
    assert ids(f"min_size={big.size}") == {c.id for c in live() if c.size >= big.size}
    assert ids("show=growing") == set(), "nothing grows after a single run"
    assert big.id in ids(f"label={label}")
    assert all(label in (c.labels["predicted"] | c.labels["corrected"])
               for c in live().filter(id__in=ids(f"label={label}")))  # fmt: skip
    assert ids("min_size=not-a-number&expand=new") == {c.id for c in live()}, "bad filter ignored"


def test_moving_a_card_returns_it_for_its_new_column(client, clustered):
    category = live().order_by("-size").first()
    login(client, clustered, "reviewer")

    response = client.post(
        f"/p/banking77/categories/{category.id}/state", {"state": "planned"}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert 'hx-swap-oob="afterbegin:#cards-planned"' in html and f'id="card-{category.id}"' in html
    category.refresh_from_db()
    assert category.state == "planned"
    assert AuditEvent.objects.filter(action="state", target_id=category.id).exists()


def test_without_javascript_a_move_redirects_back_to_the_board(client, clustered):
    category = live().first()
    login(client, clustered, "reviewer")

    response = client.post(
        f"/p/banking77/categories/{category.id}/state",
        {"state": "triaging", "next": "/p/banking77/board/?sort=size"},
    )

    assert response.status_code == 302 and response["Location"] == "/p/banking77/board/?sort=size"


def test_a_move_never_redirects_off_site(client, clustered):
    category = live().first()
    login(client, clustered, "reviewer")

    response = client.post(
        f"/p/banking77/categories/{category.id}/state",
        {"state": "triaging", "next": "https://evil.example/phish"},
    )

    assert response["Location"].startswith("/p/banking77/categories/")


def test_owner_and_assignee_are_set_and_must_be_members(client, clustered):
    category = live().first()
    reviewer = member(clustered, "reviewer")
    colleague = member(clustered, "viewer")
    stranger = UserFactory()
    client.force_login(reviewer)
    url = f"/p/banking77/categories/{category.id}/assign"

    client.post(url, {"owner_team": "model", "assignee": colleague.id})
    category.refresh_from_db()
    assert (category.owner_team, category.assignee) == ("model", colleague)

    client.post(url, {"owner_team": "data", "assignee": stranger.id})
    category.refresh_from_db()
    assert category.assignee == colleague, "a non-member cannot be assigned"


def test_comments_render_markdown_without_scripts(client, clustered):
    category = live().first()
    login(client, clustered, "reviewer")

    client.post(
        f"/p/banking77/categories/{category.id}/comments",
        {
            "body": "**Bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"
        },
    )

    html = client.get(f"/p/banking77/categories/{category.id}/").content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)" not in html and "javascript:alert" not in html
    assert "onerror" not in html


def test_a_mention_emails_members_only(clustered):
    category = live().first()
    author = member(clustered, "reviewer", username="alice")
    mentioned = member(clustered, "viewer", username="bob", email="bob@example.com")
    UserFactory(username="mallory", email="mallory@example.com")

    comment = comment_add(target=category, author=author, body="@bob and @mallory, look at this")
    sent = mentions_notify(comment_id=comment.id, user_ids=[mentioned.id])

    assert sent == 1 and [m.to for m in mail.outbox] == [["bob@example.com"]]
    message = mail.outbox[0]
    assert f"/p/banking77/categories/{category.id}/" in message.body
    assert message.alternatives[0][1] == "text/html"
    assert Comment.objects.get().body.startswith("@bob")


def test_a_viewer_can_read_but_not_decide(client, clustered):
    category = live().first()
    login(client, clustered, "viewer")

    assert client.get(f"/p/banking77/categories/{category.id}/").status_code == 200
    for action, data in [("state", {"state": "planned"}), ("assign", {"owner_team": "data"}),
                         ("comments", {"body": "hi"})]:  # fmt: skip
        assert (
            client.post(f"/p/banking77/categories/{category.id}/{action}", data).status_code == 403
        )
    category.refresh_from_db()
    assert (category.state, category.owner_team) == ("new", "")


def test_another_projects_categories_cannot_be_touched(client, clustered):
    other = ProjectFactory()
    login(client, other, "admin")
    category = live().first()

    assert client.get(f"/p/{other.slug}/board/").status_code == 200
    for action, data in [("state", {"state": "planned"}), ("assign", {"owner_team": "data"}),
                         ("comments", {"body": "hi"})]:  # fmt: skip
        assert (
            client.post(f"/p/{other.slug}/categories/{category.id}/{action}", data).status_code
            == 404
        )
        assert (
            client.post(f"/p/banking77/categories/{category.id}/{action}", data).status_code == 404
        )
    assert client.get("/p/banking77/board/").status_code == 404
