"""The Banking77 replay, loaded once per test module and shared by the module's tests.

Ingesting the replay takes a fraction of a second and clustering it a few seconds; doing both
for every test was most of the time of tests/triage. A module that uses `replay_project` loads
the replay once, inside a transaction that stays open while the module runs and is rolled back
after its last test. Each test runs in a savepoint of that transaction (pytest-django's `db`),
so whatever a test changes is rolled back before the next test sees the replay.

Nothing is committed: other modules, transactional tests and live workers never see the
replay (those that need it committed load it themselves, see tests/integration). A transactional
test cannot use these fixtures, and is told so.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from feedback.demo import demo_load
from feedback.models import Project
from feedback.replay import build_replay
from feedback.services import api_key_create
from triage.models import ClusteringSettings
from triage.services.clustering import clustering_run_execute, clustering_run_request

# Relative to today, so the replay falls inside a run's default window (the last 90 days).
REPLAY_END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@lru_cache(maxsize=2)
def cached_replay(seed: int = 0):
    return build_replay(seed=seed, end=REPLAY_END)


@pytest.fixture(scope="session")
def replay():
    return cached_replay(0)


@dataclass
class SharedReplay:
    project_id: int
    clustered: bool = False


@pytest.fixture(scope="module")
def shared_replay(django_db_setup, django_db_blocker, replay):
    """The Banking77 replay ingested through the ingest services, in a transaction held open
    for the module and rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("feedback.demo.build_replay", lambda *a, **k: replay)
                demo_load(slug="banking77", end=REPLAY_END)
            shared = SharedReplay(project_id=Project.objects.get(slug="banking77").id)
            with django_db_blocker.block():  # between tests, only tests reach the database
                yield shared
        finally:
            transaction.set_rollback(True)


def cluster(shared: SharedReplay, django_db_blocker, request_run) -> SharedReplay:
    """One clustering run of the shared replay with the light (LSA) representation, kept for
    the rest of the module; `request_run(project)` queues it and returns its id."""
    with django_db_blocker.unblock():
        project = Project.objects.get(id=shared.project_id)
        ClusteringSettings.objects.create(project=project, representation="lsa")
        status = clustering_run_execute(run_id=request_run(project), task_id="t")
    assert status == "succeeded"
    shared.clustered = True
    return shared


@pytest.fixture(scope="module")
def clustered_replay(shared_replay, django_db_blocker):
    return cluster(
        shared_replay, django_db_blocker, lambda p: clustering_run_request(project=p)[0].id
    )


def is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    marked = marker is not None and bool(
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    )
    return marked or bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture
def replay_project(request, shared_replay, db):
    """The Banking77 replay's project (a fresh instance; the rows are the module's)."""
    if is_transactional(request):
        pytest.fail(
            "replay_project lives in a transaction that is never committed: a transactional "
            "test must load the replay itself (see tests/integration)"
        )
    if shared_replay.clustered and "clustered" not in request.fixturenames:
        pytest.fail(
            "an earlier test of this module clustered the shared replay: tests of the "
            "unclustered replay belong in a module without clustered tests"
        )
    return Project.objects.get(id=shared_replay.project_id)


@pytest.fixture
def clustered(clustered_replay, replay_project):
    """The replay's project after one LSA clustering run, shared by the module's tests."""
    return replay_project


@pytest.fixture
def client_for(replay_project):
    """client_for(project=replay, scopes=("read",)): an API client with a new key."""

    def make(project=replay_project, scopes=("read",)):
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {api_key_create(project=project, scopes=scopes)[1]}"
        )
        return client

    return make
