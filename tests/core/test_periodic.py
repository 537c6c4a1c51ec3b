"""core.periodic: a periodic job starts once per period, however many beat messages ask."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.periodic import periodic_claim

pytestmark = pytest.mark.django_db


def test_the_first_message_of_a_period_claims_it_and_the_next_period_is_claimed_again():
    now = timezone.now()

    assert periodic_claim(name="dashboards.rollup", seconds=54, now=now) is True
    assert (
        periodic_claim(name="dashboards.rollup", seconds=54, now=now + timedelta(seconds=1))
        is False
    )
    assert (
        periodic_claim(name="dashboards.rollup", seconds=54, now=now + timedelta(seconds=53))
        is False
    )
    assert (
        periodic_claim(name="dashboards.rollup", seconds=54, now=now + timedelta(seconds=54))
        is True
    )
    # Each job has its own lease.
    assert periodic_claim(name="dashboards.alerts_evaluate", seconds=270, now=now) is True


@pytest.mark.django_db(transaction=True)
def test_of_messages_arriving_at_the_same_moment_exactly_one_claims():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL")
    now = timezone.now()
    start, results = threading.Barrier(8), []

    def claim():
        try:
            start.wait()
            results.append(periodic_claim(name="triage.export_sweep", seconds=108, now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 7 + [True]
