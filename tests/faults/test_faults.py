"""Nothing lost under faults: broker down, database restarted, duplicates racing, runs racing.
Real PostgreSQL, Redis and Celery worker; each test records its figures."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.db import connections

from feedback.models import Feedback, Prediction
from feedback.services import api_key_create
from tests.conftest import wait_for
from tests.factories import ProjectFactory
from triage.models import ClusteringRun, ItemAssignment
from triage.services.followup import followup_sweep

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def endpoint(live_server):
    project = ProjectFactory(labels=[])
    _, key = api_key_create(project=project, scopes=["ingest", "read"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return project, session, f"{live_server.url}/api/v1/projects/{project.slug}"


def predictions(batch: int, size: int) -> dict:
    return {
        "predictions": [
            {"request_id": f"b{batch}-{i}", "model_version": "v1", "input_text": f"query {batch} {i}",
             "predicted_label": f"label-{i % 7}"}
            for i in range(size)
        ]
    }  # fmt: skip


def test_ingest_keeps_accepting_while_the_broker_is_down(
    endpoint, live_server, redis_server, celery_worker, settings, figures
):
    settings.VOC_BROKER_COOLDOWN_SECONDS = 1
    project, session, base = endpoint
    batches, size = 30, 20
    statuses, accepted, health_during_outage = [], 0, None
    for batch in range(batches):
        if batch == 10:
            redis_server.stop()
            health_during_outage = requests.get(
                f"{live_server.url}/healthz", timeout=10
            ).status_code
        if batch == 20:
            redis_server.start()
        started = time.monotonic()
        response = session.post(f"{base}/predictions", json=predictions(batch, size), timeout=30)
        feedback = session.post(
            f"{base}/feedback",
            json={"feedback": [{"kind": "complaint", "text": f"wrong answer {batch}-{i}",
                                "request_id": f"b{batch}-{i}"} for i in range(size // 2)]},
            timeout=30,
        )  # fmt: skip
        statuses += [response.status_code, feedback.status_code]
        accepted += sum(r.json()["accepted"] for r in (response, feedback) if r.status_code == 200)
        assert time.monotonic() - started < 5, "a dead broker must not hold requests"

    present = Prediction.objects.filter(project=project).count()
    present += Feedback.objects.filter(project=project).count()
    missing_followups = Feedback.objects.filter(project=project, assignment__isnull=True).count()
    # Redis is back: the sweeper (beat, every few minutes) finds what was never published.
    swept = followup_sweep(older_than=timedelta(0))
    wait_for(
        lambda: not Feedback.objects.filter(project=project, assignment__isnull=True).exists(),
        timeout=120,
    )
    figures.update(
        records_sent=batches * (size + size // 2),
        records_accepted=accepted,
        records_present=present,
        server_errors_5xx=sum(code >= 500 for code in statuses),
        healthz_during_outage=health_during_outage,
        followups_missing_after_outage=missing_followups,
        followups_republished_by_sweeper=swept,
        followups_done_after_recovery=ItemAssignment.objects.filter(
            feedback__project=project
        ).count(),
    )
    assert accepted == present == batches * (size + size // 2)
    assert figures["server_errors_5xx"] == 0
    assert health_during_outage == 503
    assert missing_followups > 0, "the outage did lose follow-up messages (else no test)"
    assert figures["followups_done_after_recovery"] == batches * (size // 2)


def test_a_database_restart_loses_no_batch_and_stores_none_twice(
    endpoint, postgres_server, figures
):
    project, session, base = endpoint
    batches, size = 40, 500
    failures, partial, server_errors = 0, 0, 0
    restart = threading.Thread(target=postgres_server.restart_immediately)
    for batch in range(batches):
        if batch == 15:
            restart.start()
        for _attempt in range(100):
            try:
                response = session.post(
                    f"{base}/predictions", json=predictions(batch, size), timeout=30
                )
            except requests.ConnectionError:
                response = None
            if response is not None and response.status_code == 200:
                break
            failures += 1
            server_errors += response is not None and response.status_code >= 500
            time.sleep(0.2)
        else:
            pytest.fail(f"batch {batch} never went through")
    restart.join()
    connections["default"].close()  # this process's connection died with the server
    stored = Prediction.objects.filter(project=project)
    per_batch = {}
    for request_id in stored.values_list("request_id", flat=True):
        batch = request_id.split("-")[0]
        per_batch[batch] = per_batch.get(batch, 0) + 1
    partial = sum(1 for count in per_batch.values() if count != size)
    figures.update(
        batches=batches,
        rows_sent=batches * size,
        rows_present=stored.count(),
        distinct_request_ids=stored.values("request_id").distinct().count(),
        failed_attempts_retried=failures,
        answers_503_during_restart=server_errors,
        partial_batches=partial,
    )
    assert stored.count() == figures["distinct_request_ids"] == batches * size
    assert partial == 0
    assert failures > 0, "the restart did interrupt the load (else no test)"


def test_healthz_fails_while_the_database_is_down(live_server, postgres_server, figures):
    health = f"{live_server.url}/healthz"
    assert requests.get(health, timeout=10).status_code == 200  # the control
    postgres_server.stop()
    try:
        down = requests.get(health, timeout=10)
    finally:
        postgres_server.start()
    wait_for(lambda: requests.get(health, timeout=10).status_code == 200, timeout=30)
    figures.update(healthz_while_database_down=down.status_code, healthz_after_restart=200)
    assert down.status_code == 503
    assert down.json() == {
        "status": "unavailable", "database": "unreachable", "broker": "ok", "details": {}
    }  # fmt: skip


def test_fifty_identical_batches_at_once_store_each_row_once(endpoint, figures):
    project, session, base = endpoint
    body = predictions(0, 200)

    def send(_):
        with requests.Session() as own:
            own.headers.update(session.headers)
            return own.post(f"{base}/predictions", json=body, timeout=120)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(send, range(50)))

    rows = Prediction.objects.filter(project=project).count()
    figures.update(
        batches=50,
        unique_ids=200,
        rows=rows,
        accepted=sum(r.json().get("accepted", 0) for r in responses if r.status_code == 200),
        server_errors_5xx=sum(r.status_code >= 500 for r in responses),
    )
    assert rows == 200 and figures["accepted"] == 200
    assert figures["server_errors_5xx"] == 0


def test_two_clustering_runs_requested_at_once_give_one_run(endpoint, figures):
    project, session, base = endpoint

    def request_run(_):
        with requests.Session() as own:
            own.headers.update(session.headers)
            return own.post(f"{base}/clustering-runs", json={}, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(request_run, range(20)))

    codes = [r.status_code for r in responses]
    figures.update(
        requests=20,
        created_202=codes.count(202),
        returned_existing_200=codes.count(200),
        runs=ClusteringRun.objects.filter(project=project).count(),
        distinct_ids_returned=len({r.json()["id"] for r in responses}),
    )
    assert codes.count(202) == 1 and codes.count(200) == 19
    assert figures["runs"] == figures["distinct_ids_returned"] == 1
