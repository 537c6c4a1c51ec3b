"""core.mail.send_once: a mail is recorded in the transaction that sends it."""

import threading
import time

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection

from core.mail import send_once
from core.models import SentEmail


def message(to="ana@example.com"):
    return EmailMessage("Weekly review", "body", "voc@example.com", [to])


@pytest.mark.django_db
def test_the_same_mail_goes_to_a_recipient_once():
    assert send_once(message(), kind="digest", key="project:1:2025-W23") is True
    assert send_once(message(), kind="digest", key="project:1:2025-W23") is False
    # Another recipient, another week, another kind: other mails.
    assert send_once(message("bo@example.com"), kind="digest", key="project:1:2025-W23")
    assert send_once(message(), kind="digest", key="project:1:2025-W24")
    assert send_once(message(), kind="mention", key="project:1:2025-W23")

    assert len(mail.outbox) == 4 and SentEmail.objects.count() == 4


@pytest.mark.django_db
def test_a_failed_send_is_not_recorded_so_a_retry_sends_it(monkeypatch):
    def fail(self, messages):
        raise ConnectionError("mail server went away")

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", fail)
        with pytest.raises(ConnectionError):
            send_once(message(), kind="mention", key="comment:7")
    assert SentEmail.objects.count() == 0

    assert send_once(message(), kind="mention", key="comment:7") is True
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_only_one_recipient_per_message():
    with pytest.raises(ValueError):
        send_once(EmailMessage("s", "b", "f@example.com", ["a@example.com", "b@example.com"]),
                  kind="digest", key="k")  # fmt: skip
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_mail_at_once_send_it_once(monkeypatch):
    """The second waits on the first one's uncommitted record, then skips."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks of concurrent transactions: PostgreSQL")
    first_is_sending, let_first_finish = threading.Event(), threading.Event()
    real_send = EmailBackend.send_messages

    def slow_send(self, messages):
        first_is_sending.set()
        let_first_finish.wait(10)
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", slow_send)
    results = {}

    def worker(name):
        try:
            results[name] = send_once(message(), kind="digest", key="project:1:2025-W23")
        finally:
            connection.close()

    first = threading.Thread(target=worker, args=["first"])
    first.start()
    assert first_is_sending.wait(10)
    second = threading.Thread(target=worker, args=["second"])
    second.start()
    time.sleep(0.5)  # the second is now blocked on the first one's row
    assert "second" not in results
    let_first_finish.set()
    first.join(10)
    second.join(10)

    assert results == {"first": True, "second": False}
    assert len(mail.outbox) == 1 and SentEmail.objects.count() == 1
