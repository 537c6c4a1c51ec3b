import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from feedback.services import api_key_create
from tests.factories import ProjectFactory
from tests.s3 import bucket, s3_endpoint  # noqa: F401 - fixtures: a real S3 server, a bucket

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("VOC_REQUIRE_SERVICES") == "true"


def pytest_collection_modifyitems(config, items):
    """Integration tests need the real PostgreSQL and Redis: with CI=true their absence fails
    the run (`services_required` below); on a workstation they are skipped."""
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    if REQUIRE_SERVICES or (on_postgres and settings.REDIS_URL):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL and Redis (run `make test`)")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def services_required():
    if REQUIRE_SERVICES and not os.environ.get("VOC_SQLITE_RUN"):
        assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), (
            "CI must run the suite on PostgreSQL"
        )
        assert settings.REDIS_URL, "CI must run the suite with Redis"


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language: a request in Korean leaves the test thread's
    translation active, and a later test comparing English messages would read Korean."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(monkeypatch):
    """Rate-limit counters live in the cache, which outlives each test's database: with the
    same client address and ids repeating from test to test, one test's requests would spend
    another's allowance. Each test counts under a prefix of its own."""
    monkeypatch.setattr("feedback.ratelimit.PREFIX", f"voc:rl:{uuid.uuid4().hex[:12]}:")


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def make_key():
    def make(project, scopes=("ingest", "read", "export")):
        return api_key_create(project=project, scopes=scopes)[1]

    return make


@pytest.fixture
def api(project, make_key):
    """An API client authenticated with an all-scopes key of `project`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project)}")
    return client


def wait_for(predicate, timeout=30.0, interval=0.1):
    """Poll until predicate() is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")


def database_url_for_tests() -> str:
    """DATABASE_URL of the test database pytest-django created (for subprocesses)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{connection.settings_dict['NAME']}"
    return (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/"
        f"{connection.settings_dict['NAME']}"
    )


class Worker:
    """A real Celery worker in a subprocess, on the test database and the test broker."""

    def __init__(self, tmp_path: Path, concurrency: int = 1, queues: str | None = None):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url_for_tests(),
            "VOC_DATA_DIR": str(settings.DATA_DIR),
        }
        self.args = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--loglevel", "INFO", "--concurrency", str(concurrency), "--without-gossip",
            "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}@%h",
        ]  # fmt: skip
        if queues:
            self.args += ["-Q", queues]
        self.log_path = tmp_path / "worker.log"
        self.process: subprocess.Popen | None = None

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.args, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: b"ready." in self.log_path.read_bytes(), timeout=60)
        return self

    def kill(self, sig=signal.SIGKILL):
        """Kill the worker's whole process group (main process and pool children)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """A running worker for this test; data must be committed (transactional_db)."""
    purge_broker()
    worker = Worker(tmp_path).start()
    yield worker
    worker.stop()


def purge_broker():
    from config.celery_app import app

    with app.connection_for_write() as conn:
        app.control.purge(connection=conn)


ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def figures(request):
    """Record a test's figures for RELIABILITY.md."""
    recorded: dict = {}
    yield recorded
    if recorded:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / "reliability.json"
        everything = json.loads(path.read_text()) if path.exists() else {}
        everything[request.node.name] = recorded
        path.write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n")
        print(f"\nFIGURES {request.node.name}: {json.dumps(recorded)}")
