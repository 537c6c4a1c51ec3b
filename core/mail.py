"""E-mail that goes out once, even when the task sending it runs twice.

Tasks are acknowledged late: a worker lost mid-task means the task runs again, and an e-mail
it had already sent would be sent again. `send_once` inserts the mail's SentEmail row and sends
in one transaction, so the row exists exactly when the mail went out:
- a redelivered task finds the row and skips the mail;
- a second worker running the same task at the same time waits on the first one's
  uncommitted row (the unique constraint), then finds it and skips;
- a send that fails rolls the row back, so a retry sends it.
The one window left is a worker lost between the mail server's acceptance and the commit:
that mail goes out again (at least once, never silently lost).
"""

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction

from .models import SentEmail


def send_once(message: EmailMessage, *, kind: str, key: str) -> bool:
    """Send a message to its one recipient unless this (kind, key) mail already reached them.
    Returns whether it was sent now."""
    if len(message.recipients()) != 1:
        raise ValueError("send_once sends to exactly one recipient")
    (recipient,) = message.recipients()
    try:
        with transaction.atomic():
            SentEmail.objects.create(kind=kind, key=key, recipient=recipient)
            message.send()
    except IntegrityError:
        return False
    return True
