"""Mention and digest e-mails go out once, even when Celery delivers their task again.

Tasks are acknowledged late: a worker lost mid-task means the task runs a second time.
"""

from datetime import date

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from core.models import SentEmail, UserPreference
from feedback.models import Membership
from tests.factories import ProjectFactory, UserFactory
from triage.models import ErrorCategory
from triage.notifications import digest_key
from triage.services.comments import comment_add
from triage.tasks import notify_mentions, weekly_digest

pytestmark = pytest.mark.django_db


def member(project, role="reviewer", **fields):
    user = UserFactory(**fields)
    Membership.objects.create(project=project, user=user, role=role)
    return user


@pytest.fixture
def project():
    project = ProjectFactory()
    # A regressed category: the digest has something to say.
    ErrorCategory.objects.create(
        project=project, title="Transfers stuck", size=60, state="regressed",
        labels={"predicted": {}, "corrected": {}},
    )  # fmt: skip
    return project


def delivered_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_a_redelivered_digest_task_mails_each_member_once(project):
    member(project, email="ana@example.com")
    member(project, "viewer", email="bo@example.com")

    weekly_digest.apply(throw=True)
    weekly_digest.apply(throw=True)  # the redelivery

    assert delivered_to() == ["ana@example.com", "bo@example.com"]
    assert [(s.kind, s.recipient) for s in SentEmail.objects.order_by("recipient")] == [
        ("digest", "ana@example.com"),
        ("digest", "bo@example.com"),
    ]


def test_a_digest_run_that_died_halfway_is_finished_by_the_redelivery(project, monkeypatch):
    member(project, email="ana@example.com")
    member(project, email="bo@example.com")
    real_send = EmailBackend.send_messages
    failures = {"bo@example.com"}

    def send_or_fail(self, messages):
        for message in messages:
            if failures & set(message.to):
                failures.clear()  # the mail server fails once, then recovers
                raise ConnectionError("mail server went away")
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_or_fail)

    with pytest.raises(ConnectionError):
        weekly_digest.apply(throw=True)
    assert delivered_to() == ["ana@example.com"]
    assert list(SentEmail.objects.values_list("recipient", flat=True)) == ["ana@example.com"]

    weekly_digest.apply(throw=True)  # the redelivery: bo's mail, and only bo's

    assert delivered_to() == ["ana@example.com", "bo@example.com"]


def test_each_week_has_its_own_digest(project):
    assert digest_key(project=project, day=date(2025, 6, 2)) == digest_key(
        project=project, day=date(2025, 6, 8)
    )  # Monday and Sunday of one ISO week
    assert digest_key(project=project, day=date(2025, 6, 9)) != digest_key(
        project=project, day=date(2025, 6, 8)
    )
    other = ProjectFactory()
    assert digest_key(project=other, day=date(2025, 6, 2)) != digest_key(
        project=project, day=date(2025, 6, 2)
    )


def test_a_redelivered_mention_task_mails_each_mentioned_member_once(project):
    category = ErrorCategory.objects.get(project=project)
    author = member(project, username="alice", email="alice@example.com")
    bob = member(project, "viewer", username="bob", email="bob@example.com")
    cy = member(project, "viewer", username="cy", email="cy@example.com")
    comment = comment_add(target=category, author=author, body="@bob @cy have a look")

    notify_mentions.apply(args=[comment.id, [bob.id, cy.id]], throw=True)
    notify_mentions.apply(args=[comment.id, [bob.id, cy.id]], throw=True)  # the redelivery

    assert delivered_to() == ["bob@example.com", "cy@example.com"]
    # A later comment mentioning bob again is a new mail.
    again = comment_add(target=category, author=author, body="@bob one more thing")
    notify_mentions.apply(args=[again.id, [bob.id]], throw=True)
    assert delivered_to() == ["bob@example.com", "bob@example.com", "cy@example.com"]


def test_each_member_reads_the_digest_and_mentions_in_their_own_language(project):
    UserPreference.objects.create(user=member(project, email="min@example.com"), language="ko")
    member(project, email="ann@example.com")  # no setting: the site's language
    category = ErrorCategory.objects.get(project=project)
    author = member(project, username="alice", email="alice@example.com")
    korean = UserPreference.objects.create(
        user=member(project, "viewer", username="jun", email="jun@example.com"), language="ko"
    ).user

    weekly_digest.apply(throw=True)
    comment = comment_add(target=category, author=author, body="@jun have a look")
    notify_mentions.apply(args=[comment.id, [korean.id]], throw=True)

    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert "Weekly review" in subjects["ann@example.com"]
    assert "Weekly review" not in subjects["min@example.com"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in subjects["min@example.com"])
    digest_bodies = {m.to[0]: m.body for m in mail.outbox if m.subject.startswith("[")}
    assert "Transfers stuck" in digest_bodies["min@example.com"]
    mention = [m for m in mail.outbox if "alice" in m.subject][-1]
    assert mention.to == ["jun@example.com"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in mention.subject)
