"""Rollups, the metrics API and the overview's figures on the embedded default (SQLite computes
the confidence bins and latency buckets with the functions Django registers for it, and hands
the rollups' JSON back as text)."""

from datetime import timedelta

import pytest
from django.db import connection

from dashboards.quality.overview import OverviewQuery, overview_build
from dashboards.services.rollups import rollup_pass
from feedback.models import Prediction
from tests.dashboards.conftest import make_traffic
from tests.dashboards.test_rollups import assert_rollups_match_raw

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _only_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("runs in the SQLite phase of `make test`")


def test_rollups_match_a_raw_recount_on_sqlite(project, api):
    make_traffic(project, n=200)

    rollup_pass()

    assert_rollups_match_raw(project)
    rows = api.get(f"/api/v1/projects/{project.slug}/metrics").json()
    assert sum(r["predictions"] for r in rows) == 200

    # The overview's figures come from the rollups' JSON (label counts, sketches, pairs).
    served = Prediction.objects.filter(project=project).values_list("served_at", flat=True)
    query = OverviewQuery(
        since=min(served).replace(minute=0, second=0, microsecond=0),
        until=max(served) + timedelta(hours=1),
        bucket="day",
    )
    sections = {s["id"]: s for s in overview_build(project=project, query=query)["sections"]}
    assert sum(row[1] for row in sections["confusion"]["precision_table"]["rows"]) == 200
    assert sections["confusion"]["pairs"] and sections["reliability"]["table"]["rows"]
    service = sections["service"]["table"]["rows"]
    assert {row[0] for row in service} == {"v1", "v2"} and all(row[5] for row in service)
