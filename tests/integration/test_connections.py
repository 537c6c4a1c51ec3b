"""Connections as deployed on more than one machine: through a real PgBouncer in transaction
mode (DATABASE_PGBOUNCER=transaction) in front of the test PostgreSQL, and with psycopg's pool
(DATABASE_POOL=true) in the web process and in a prefork Celery worker."""

import json
from datetime import datetime

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection

from config.settings.database import default_database
from feedback.ingest import feedback_ingest, prediction_ingest
from feedback.models import Feedback, Prediction
from feedback.services import project_create
from tests.conftest import Worker, purge_broker, wait_for
from tests.integration.pgbouncer import PgBouncer
from triage.models import DatasetExport
from triage.services.export_build import export_build
from triage.services.exports import export_request

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LABELS = ["card_arrival", "card_not_working", "lost_or_stolen_card"]


@pytest.fixture(scope="module")
def bouncer():
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("PgBouncer sits in front of PostgreSQL")
    bouncer = PgBouncer(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    yield bouncer
    bouncer.stop()


def _use(monkeypatch, database: dict) -> None:
    """Point Django's connection at `database` (a DATABASES entry) from its next query on."""
    connection.close()
    defaults = {"CONN_MAX_AGE": 0, "DISABLE_SERVER_SIDE_CURSORS": False, "OPTIONS": {}}
    for key in ("HOST", "PORT", *defaults):
        monkeypatch.setitem(connection.settings_dict, key, database.get(key, defaults.get(key)))


@pytest.fixture
def through_bouncer(transactional_db, monkeypatch, bouncer, settings, tmp_path):
    """Django's connection goes through the PgBouncer, with the settings the environment of
    a deployment behind one gives (config/settings/database.py)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    name = connection.settings_dict["NAME"]
    database = default_database(
        {"DATABASE_URL": bouncer.url(name), "DATABASE_PGBOUNCER": "transaction"}, tmp_path
    )
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    _use(monkeypatch, database)
    connection.ensure_connection()
    assert connection.connection.info.port == bouncer.port
    bouncer.open_servers(name, 2)  # two server connections for the clients to alternate on
    yield bouncer
    connection.close()


def _load(n: int) -> tuple:
    """A project with `n` predictions, each corrected once, ingested by the app's services."""
    project = project_create(slug="bounced", name="Behind PgBouncer", labels=LABELS)
    predictions = [
        {
            "request_id": f"req-{i:06d}",
            "model_version": "v1",
            "input_text": f"where is my card, day {i}",
            "predicted_label": "card_arrival",
            "confidence": 0.5,
            "served_at": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:07.250000+00:00",
        }
        for i in range(n)
    ]
    corrections = [
        {"kind": "correction", "request_id": p["request_id"], "corrected_label": LABELS[1]}
        for p in predictions
    ]
    for start in range(0, n, 5000):
        assert not prediction_ingest(
            project=project, items=predictions[start : start + 5000]
        ).rejected
        assert not feedback_ingest(
            project=project, items=corrections[start : start + 5000]
        ).rejected
    return project, predictions


def test_ingest_and_an_export_build_work_through_pgbouncer_in_transaction_mode(through_bouncer):
    # 12,000 rows: the build's stream hands them over in two chunks of its own connection.
    project, predictions = _load(12_000)

    export = export_request(project=project, format="jsonl")
    export_build(export_id=export.id)

    export.refresh_from_db()
    assert export.status == DatasetExport.Status.SUCCEEDED, export.error
    rows = [json.loads(line) for line in open(export.file.path, "rb")]
    served = {p["request_id"]: datetime.fromisoformat(p["served_at"]) for p in predictions}
    assert len(rows) == export.row_count == 12_000
    assert {r["request_id"] for r in rows} == set(served)
    # Timestamps read in UTC whichever server connection the stream ran on.
    assert all(datetime.fromisoformat(r["served_at"]) == served[r["request_id"]] for r in rows)
    assert {r["corrected_label"] for r in rows} == {LABELS[1]}
    # The stream's session settings stayed inside its transaction: no server connection the
    # pooler hands to the next client keeps them.
    name = connection.settings_dict["NAME"]
    # (No prepared statements: the next execution may run on another server connection.)
    with psycopg.connect(
        through_bouncer.url(name), autocommit=True, prepare_threshold=None
    ) as client:
        seen = {client.execute("SHOW work_mem").fetchone()[0] for _ in range(6)}
    assert len(through_bouncer.server_connections(name)) == 2
    assert seen == {"4MB"}


def test_iterator_reads_every_row_through_pgbouncer_with_the_setting(through_bouncer):
    project, _ = _load(3_000)
    queryset = Prediction.objects.filter(project=project).order_by("id")

    read = list(queryset.values_list("request_id", flat=True).iterator(chunk_size=100))

    assert read == [f"req-{i:06d}" for i in range(3_000)]
    assert Feedback.objects.filter(project=project).count() == 3_000


def test_without_the_setting_iterator_loses_its_cursor_through_pgbouncer(
    through_bouncer, monkeypatch
):
    """What DISABLE_SERVER_SIDE_CURSORS prevents: the cursor .iterator() declares WITH HOLD
    lives on the server connection of the transaction that declared it."""
    project, _ = _load(3_000)
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", False)
    queryset = Prediction.objects.filter(project=project).values_list("id", flat=True)

    # (Django raises it as ProgrammingError; closing the lost cursor then fails in psycopg.)
    with pytest.raises((DatabaseError, psycopg.Error), match="does not exist"):
        list(queryset.iterator(chunk_size=100))


def test_a_prefork_worker_with_the_pool_builds_exports(transactional_db, settings, tmp_path):
    """DATABASE_POOL=true in a Celery worker of two prefork processes: each builds with a
    pool of its own (Celery closes it around each task, never sharing it across fork)."""
    project, _ = _load(300)
    purge_broker()
    worker = Worker(tmp_path, concurrency=2)
    worker.env.update(
        {
            "DATABASE_POOL": "true",
            "DATABASE_POOL_MIN_SIZE": "1",
            "DATABASE_POOL_MAX_SIZE": "2",
            "VOC_MEDIA_ROOT": str(tmp_path / "media"),
        }
    )
    worker.start()
    try:
        exports = [export_request(project=project, format="csv") for _ in range(4)]
        wait_for(
            lambda: all(
                DatasetExport.objects.get(id=e.id).status in ("succeeded", "failed")
                for e in exports
            ),
            timeout=120,
        )
    finally:
        worker.stop()
    built = DatasetExport.objects.filter(id__in=[e.id for e in exports])
    assert [(e.status, e.row_count) for e in built] == [("succeeded", 300)] * 4, worker.output()
    assert len({e.sha256 for e in built}) == 1


def test_the_web_process_pool_serves_queries_and_hands_connections_back(
    transactional_db, monkeypatch, tmp_path
):
    database = default_database(
        {
            "DATABASE_URL": "postgres://x@h/x",
            "DATABASE_POOL": "true",
            "DATABASE_POOL_MIN_SIZE": "1",
            "DATABASE_POOL_MAX_SIZE": "2",
        },
        tmp_path,
    )
    direct = connection.settings_dict
    _use(monkeypatch, {**database, "HOST": direct["HOST"], "PORT": direct["PORT"]})
    try:
        project = project_create(slug="pooled", name="Pooled", labels=LABELS)
        connection.close()  # back to the pool, as at the end of a request
        # Every connection back in the pool (one it grew by may still be opening meanwhile).
        stats = wait_for(
            lambda: (s := connection.pool.get_stats())["pool_available"] == s["pool_size"] and s,
            timeout=10,
        )
        opened = stats["connections_num"]
        assert 1 <= stats["pool_size"] <= 2
        for _ in range(5):  # five more "requests"
            assert Prediction.objects.filter(project=project).count() == 0
            connection.close()
        stats = connection.pool.get_stats()
        assert stats["connections_num"] == opened  # reused, none opened again
        assert stats["requests_num"] >= 6
    finally:
        connection.close()
        connection.close_pool()
