"""The rollup job on a real Celery worker, Redis and PostgreSQL: published by name as beat
does, it leaves rollups equal to a raw recount; traffic arriving later is picked up by the
next pass."""

from datetime import timedelta

import pytest

from core.publish import publish
from dashboards.models import MetricRollup, RollupDirtyHour
from tests.conftest import wait_for
from tests.dashboards.conftest import T0, make_traffic
from tests.dashboards.test_rollups import assert_rollups_match_raw
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def predictions_rolled_up(project) -> int:
    return sum(MetricRollup.objects.filter(project=project).values_list("predictions", flat=True))


def test_the_worker_rolls_up_new_traffic_pass_after_pass(celery_worker):
    project = ProjectFactory()
    make_traffic(project, n=300)

    assert publish("dashboards.rollup")
    wait_for(lambda: predictions_rolled_up(project) == 300, timeout=60)
    assert_rollups_match_raw(project)

    make_traffic(project, n=120, seed=1, start=T0 + timedelta(days=2), hours=2)
    assert publish("dashboards.rollup")
    wait_for(lambda: predictions_rolled_up(project) == 420, timeout=60)
    wait_for(lambda: not RollupDirtyHour.objects.exists(), timeout=30)
    assert_rollups_match_raw(project)
