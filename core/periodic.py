"""Periodic work runs once per period, however many beat processes send it.

Beat is meant to run once, but deployments start a second one by accident (a rolling update,
a worker container started with `-B`). Each beat entry therefore sends `core.periodic` with
the real task's name; the first message of a period claims the job's lease and publishes the
task (on its own queue), the others find the lease taken and drop out.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from .models import PeriodicLease
from .publish import publish

logger = logging.getLogger(__name__)

NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def periodic_claim(*, name: str, seconds: float, now: datetime | None = None) -> bool:
    """Take the lease of job `name` for `seconds` unless it is held; one caller wins. The
    settings make a lease a little shorter than its period, so that a beat ticking a bit
    early in the next period is not refused."""
    now = now or timezone.now()
    PeriodicLease.objects.get_or_create(name=name, defaults={"until": NEVER})
    # One conditional UPDATE: of two callers at the same moment, one changes the row.
    return bool(
        PeriodicLease.objects.filter(name=name, until__lte=now).update(
            until=now + timedelta(seconds=seconds)
        )
    )


def periodic_run(*, task_name: str, seconds: float) -> bool:
    """Publish `task_name` if this is the period's first message; returns whether it was."""
    if not periodic_claim(name=task_name, seconds=seconds):
        logger.info("periodic %s: already started in this period", task_name)
        return False
    return publish(task_name)
