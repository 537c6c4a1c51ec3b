"""Improvement point pages, the weekly review and the digest."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.factories import ErrorCategoryFactory, ModelVersionFactory, ProjectFactory, UserFactory
from tests.helpers import login, member
from triage.models import ImprovementPoint, ReviewSession
from triage.notifications import digest_send
from triage.selectors import review_agenda
from triage.services.reviews import review_close, review_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory()


def test_the_agenda_has_what_changed_since_the_last_review(project):
    since = timezone.now() - timedelta(days=7)
    earlier = since - timedelta(days=30)
    old = ErrorCategoryFactory(project=project, title="old", created_at=earlier, size=3)
    new = ErrorCategoryFactory(project=project, title="new", size=4)
    growing = ErrorCategoryFactory(project=project, title="growing", size=30, growth=1.5,
                                   owner_team="model", created_at=earlier)  # fmt: skip
    regressed = ErrorCategoryFactory(project=project, title="regressed", state="regressed",
                                     created_at=earlier, size=10)  # fmt: skip
    unowned = ErrorCategoryFactory(project=project, title="unowned", size=50, created_at=earlier)
    overdue = ImprovementPoint.objects.create(
        project=project,
        title="late",
        kind="model",
        due_date=timezone.localdate() - timedelta(days=1),
    )
    ImprovementPoint.objects.create(
        project=project, title="done late", kind="model", state="done",
        due_date=timezone.localdate() - timedelta(days=1),
    )  # fmt: skip

    agenda = review_agenda(project=project, since=since)

    assert agenda["new"] == [new]
    assert agenda["growing"] == [growing]
    assert agenda["regressed"] == [regressed]
    assert agenda["unowned"] == [unowned]
    assert agenda["overdue"] == [overdue]
    assert old not in sum(agenda.values(), [])


def test_one_review_is_open_at_a_time_and_the_next_covers_since_the_last(project):
    first, created = review_start(project=project, actor=None)
    again, created_again = review_start(project=project, actor=None)
    review_close(session=first, actor=None)
    second, _ = review_start(project=project, actor=None)

    assert created and not created_again and again.id == first.id
    assert second.period_start == first.started_at


def test_the_team_records_attendees_and_decisions_and_closes_the_review(client, project):
    reviewer = member(project, "reviewer")
    colleague = member(project, "viewer")
    ErrorCategoryFactory(project=project, title="Cards <b>never</b> arrive", size=40)
    client.force_login(reviewer)
    start = client.post(f"/p/{project.slug}/reviews/start")
    page = client.get(start["Location"])
    assert "Cards &lt;b&gt;never&lt;/b&gt; arrive" in page.content.decode()

    client.post(start["Location"], {"attendees": [reviewer.id, colleague.id],
                                    "decisions": "Relabel *cards*", "close": "1"})  # fmt: skip

    session = ReviewSession.objects.get()
    assert set(session.attendees.all()) == {reviewer, colleague}
    assert (
        session.closed_at and session.agenda["unowned"][0]["title"] == "Cards <b>never</b> arrive"
    )
    closed = client.get(start["Location"]).content.decode()
    assert "<em>cards</em>" in closed and 'name="decisions"' not in closed


def test_improvement_points_are_created_from_categories_and_listed(client, project):
    reviewer = member(project, "reviewer")
    first, second = (ErrorCategoryFactory(project=project, title=t, size=10) for t in "ab")
    ModelVersionFactory(project=project, version="v2")
    client.force_login(reviewer)

    form = client.get(
        f"/p/{project.slug}/improvements/new?category={first.id}&category={second.id}"
    )
    assert [c.id for c in form.context["form"].initial["categories"]] == [first.id, second.id]
    response = client.post(f"/p/{project.slug}/improvements/new", {
        "title": "Add card arrival examples", "kind": "training_data", "categories": [first.id, second.id],
        "state": "accepted", "description": "See **both**",
    })  # fmt: skip

    point = ImprovementPoint.objects.get()
    assert response.status_code == 302 and point.owner_team == "data"
    assert set(point.categories.all()) == {first, second}
    listing = client.get(f"/p/{project.slug}/improvements/").content.decode()
    assert "Add card arrival examples" in listing
    detail = client.get(f"/p/{project.slug}/improvements/{point.id}/").content.decode()
    assert "<strong>both</strong>" in detail


def test_improvement_pages_refuse_strangers_and_foreign_categories(client, project):
    point = ImprovementPoint.objects.create(project=project, title="x", kind="model")
    other = ProjectFactory()
    login(client, other, "reviewer")
    foreign = ErrorCategoryFactory(project=project, title="theirs", size=10)

    assert client.get(f"/p/{project.slug}/improvements/{point.id}/").status_code == 404
    assert client.get(f"/p/{other.slug}/improvements/{point.id}/").status_code == 404
    client.post(f"/p/{other.slug}/improvements/new",
                {"title": "t", "kind": "model", "categories": [foreign.id], "state": "proposed"})  # fmt: skip
    assert not ImprovementPoint.objects.filter(project=other).exists()


def test_a_viewer_reads_but_cannot_change_improvements_or_reviews(client, project):
    point = ImprovementPoint.objects.create(project=project, title="x", kind="model")
    session, _ = review_start(project=project, actor=None)
    login(client, project, "viewer")

    assert client.get(f"/p/{project.slug}/improvements/{point.id}/").status_code == 200
    assert (
        client.post(f"/p/{project.slug}/improvements/{point.id}/", {"title": "y"}).status_code
        == 403
    )
    assert (
        client.post(f"/p/{project.slug}/reviews/{session.id}/", {"decisions": "x"}).status_code
        == 403
    )
    assert client.get(f"/p/{project.slug}/improvements/new").status_code == 403


def test_the_weekly_digest_mails_the_agenda_to_members(project):
    member(project, "reviewer", email="ana@example.com")
    member(project, "viewer", email="bo@example.com")
    UserFactory(email="outsider@example.com")
    ErrorCategoryFactory(project=project, title="Transfers stuck", size=60, state="regressed",
                         regression_note="Back in v2: 12.0 per 1,000")  # fmt: skip

    assert digest_send(project=project) == 2

    # One mail per member (each recorded as sent on its own), no member sees the others.
    assert sorted(m.to for m in mail.outbox) == [["ana@example.com"], ["bo@example.com"]]
    message = mail.outbox[0]
    assert "Transfers stuck" in message.body and f"/p/{project.slug}/board/" in message.body
    html = message.alternatives[0][0]
    assert "Transfers stuck" in html and "Back in v2" in html


def test_no_digest_when_there_is_nothing_to_review(project):
    member(project, "reviewer", email="ana@example.com")

    assert digest_send(project=project) == 0 and mail.outbox == []
