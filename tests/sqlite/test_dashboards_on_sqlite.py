"""Rollups and the metrics API on the embedded default (SQLite computes the confidence bins
and latency buckets with the functions Django registers for it)."""

import pytest
from django.db import connection

from dashboards.services.rollups import rollup_pass
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
