"""Clustering runs done by a real Celery worker on Redis and PostgreSQL, including workers
killed in the middle of a run."""

import os
import signal
from pathlib import Path

import pytest

from feedback.models import Project
from tests.conftest import Worker, purge_broker, wait_for
from tests.triage.conftest import REPLAY_END, cached_replay
from triage.clustering.representations import embeddings_available
from triage.models import (
    CategorySnapshot,
    ClusteringRun,
    ClusteringSettings,
    ErrorCategory,
    ItemAssignment,
)
from triage.services.clustering import clustering_run_request, clustering_runs_sweep

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project(transactional_db, monkeypatch):
    from feedback.demo import demo_load

    monkeypatch.setattr("feedback.demo.build_replay", lambda *a, **k: cached_replay(0))
    demo_load(slug="banking77", end=REPLAY_END)
    purge_broker()  # the follow-up messages of the ingest: these tests are about runs
    return Project.objects.get(slug="banking77")


def status_of(run):
    return ClusteringRun.objects.defer("model_state").get(id=run.id).status


def nothing_written():
    return not (
        ErrorCategory.objects.exists()
        or CategorySnapshot.objects.exists()
        or ItemAssignment.objects.filter(run__isnull=False).exists()
    )


def pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def test_the_worker_clusters_a_requested_run(project, tmp_path):
    ClusteringSettings.objects.create(project=project, representation="lsa")
    worker = Worker(tmp_path).start()
    try:
        run, created = clustering_run_request(project=project)

        wait_for(lambda: status_of(run) == "succeeded", timeout=120)
    finally:
        worker.stop()
    run.refresh_from_db()
    assert created and run.n_categories > 20
    assert ItemAssignment.objects.filter(run=run).count() == run.n_items


@pytest.fixture
def slow_run_settings(project):
    """Sentence embeddings computed inside the run make it last long enough to kill."""
    if not embeddings_available():
        if os.environ.get("VOC_REQUIRE_SERVICES") == "true":
            pytest.fail("the embeddings extra must be installed in CI")
        pytest.skip("needs the embeddings extra (make setup-embeddings)")
    ClusteringSettings.objects.create(project=project, representation="embeddings")


def test_a_killed_pool_process_leaves_nothing_half_written_and_the_run_is_redone(
    project, slow_run_settings, tmp_path, settings, figures
):
    worker = Worker(tmp_path)
    worker.env["VOC_JOB_HEARTBEAT_SECONDS"] = "1"
    settings.VOC_JOB_STALE_SECONDS = 4
    worker.start()
    try:
        run, _ = clustering_run_request(project=project)
        wait_for(lambda: status_of(run) == "running", timeout=60)

        for child in pool_children(worker.process.pid):
            os.kill(child, signal.SIGKILL)

        partial = 0 if status_of(run) == "running" and nothing_written() else 1
        # The pool replaces the process and the message, rejected on worker loss, comes back
        # at once: the run's heartbeat is still fresh, so it is left alone (a live worker looks
        # the same). Once the heartbeat is stale, the sweeper queues the run again.
        wait_for(lambda: clustering_runs_sweep().requeued == 1, timeout=60, interval=1)
        wait_for(lambda: status_of(run) == "succeeded", timeout=180)
    finally:
        worker.stop()
    run.refresh_from_db()
    figures.update(runs_killed=1, completed_after_restart=1, partial_results_found=partial)
    assert partial == 0
    assert run.attempts == 2
    assert ItemAssignment.objects.filter(run=run).count() == run.n_items


def test_a_killed_worker_leaves_nothing_half_written_and_no_lock_behind(
    project, slow_run_settings, tmp_path, settings, figures
):
    settings.VOC_JOB_STALE_SECONDS = 3
    first = Worker(tmp_path)
    first.env["VOC_JOB_HEARTBEAT_SECONDS"] = "1"
    first.start()
    run, _ = clustering_run_request(project=project)
    try:
        wait_for(lambda: status_of(run) == "running", timeout=60)
        first.kill(signal.SIGKILL)  # the main process and its pool, at once
    finally:
        first.stop()

    partial = 0 if status_of(run) == "running" and nothing_written() else 1
    assert partial == 0
    # The message stays unacknowledged in Redis until its visibility timeout (an hour);
    # the sweeper notices the silent heartbeat and queues the run again.
    wait_for(lambda: clustering_runs_sweep().requeued == 1, timeout=30, interval=1)
    second = Worker(tmp_path).start()
    try:
        wait_for(lambda: status_of(run) == "succeeded", timeout=180)
    finally:
        second.stop()
    run.refresh_from_db()
    assert ItemAssignment.objects.filter(run=run).count() == run.n_items
    lock_left = 0 if clustering_run_request(project=project)[1] is True else 1
    figures.update(
        runs_killed=1, completed_after_restart=1, partial_results_found=partial,
        locks_left_behind=lock_left,
    )  # fmt: skip
    assert lock_left == 0, "no lock left behind"
