"""Backup and restore, rehearsed: load, back up, keep ingesting, restore into a fresh
PostgreSQL server and a new media folder, then check the counts, an export's sha256, and that
the restored app serves pages and clusters."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from feedback.models import Prediction, Project
from feedback.replay import build_replay
from lifecycle.backup import BackupError, backup_create, backup_restore, manifest_read
from tests.factories import PredictionFactory
from tests.s3 import storage_env
from triage.models import ClusteringSettings
from triage.services.clustering import clustering_run_execute, clustering_run_request
from triage.services.export_build import export_build
from triage.services.exports import export_request

ROOT = Path(__file__).resolve().parents[2]
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

VERIFY = """
import hashlib, json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from feedback.models import Prediction, Project
from triage.models import DatasetExport
from triage.services.clustering import clustering_run_execute, clustering_run_request
from core.files import sha256_of
from triage.services.exports import export_file_name

project = Project.objects.get(slug="drill")
export = DatasetExport.objects.get(project=project)
digest = sha256_of(export_file_name(export))
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username="drill-admin"))
board = client.get(f"/p/{project.slug}/board/")
run, _ = clustering_run_request(project=project)
status = clustering_run_execute(run_id=run.id, task_id="after-restore")
print(json.dumps({
    "sha256_ok": digest == export.sha256,
    "after_backup": Prediction.objects.filter(request_id__startswith="after-backup").count(),
    "healthz": client.get("/healthz").status_code,
    "board": board.status_code,
    "clustering": status,
}))
"""


@pytest.fixture
def fresh_server():
    """A second PostgreSQL server, empty, on ports of its own; stopped afterwards. Its folder
    is under /tmp itself: the postgres user cannot enter pytest's private temporary folders."""
    folder = tempfile.mkdtemp(prefix="voc-fresh-server-", dir="/tmp")
    os.chmod(folder, 0o755)  # noqa: S103
    env = {**os.environ, "VOC_PG_PORT": "55452", "VOC_REDIS_PORT": "56399", "VOC_SERVICES_DIR": folder}  # fmt: skip
    script = ["bash", str(ROOT / "scripts" / "services.sh")]
    try:
        started = subprocess.run([*script, "start"], env=env, capture_output=True, text=True)
        assert started.returncode == 0, started.stderr + started.stdout
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:55452/postgres", autocommit=True
        ) as db:
            db.execute("CREATE DATABASE voc_restored")
        yield "postgres://postgres@127.0.0.1:55452/voc_restored"
    finally:
        subprocess.run([*script, "stop"], env=env, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, cwd=ROOT
    )  # fmt: skip


@pytest.fixture(params=["folder", "bucket"])
def restored_files(request, tmp_path, settings) -> dict:
    """Where the backed-up files are (this process) and the environment that restores them
    into a new, empty place of the same kind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    if request.param == "folder":
        return {"VOC_MEDIA_ROOT": str(tmp_path / "restored-media")}
    bucket = request.getfixturevalue("bucket")
    empty = f"{bucket.name}-restored"
    bucket.client.create_bucket(Bucket=empty)
    return storage_env(bucket.env["AWS_ENDPOINT_URL_S3"], empty)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_backup_and_restore_drill(
    tmp_path, monkeypatch, django_user_model, fresh_server, restored_files
):
    if connection.vendor != "postgresql":
        pytest.skip("the drill restores into a PostgreSQL server")
    from feedback.demo import demo_load

    replay = build_replay(seed=0, end=END)
    monkeypatch.setattr("feedback.demo.build_replay", lambda *a, **k: replay)
    demo_load(slug="drill", end=END)
    project = Project.objects.get(slug="drill")
    admin = django_user_model.objects.create_user("drill-admin", password="x")  # noqa: S106
    project.memberships.create(user=admin, role="admin")
    ClusteringSettings.objects.create(project=project, representation="lsa")
    run, _ = clustering_run_request(project=project)
    assert clustering_run_execute(run_id=run.id, task_id="before") == "succeeded"
    export = export_request(project=project, format="jsonl")
    export_build(export_id=export.id)
    export.refresh_from_db()
    assert export.status == "succeeded"

    folder = backup_create(destination=tmp_path / "backups")
    for i in range(5):  # written after the backup: a restore loses them
        PredictionFactory(project=project, request_id=f"after-backup-{i}")

    manifest = manifest_read(folder)
    assert manifest["counts"]["feedback.Prediction"] == Prediction.objects.count() - 5
    assert manifest["media"]["files"] >= 1
    env = {**os.environ, "DATABASE_URL": fresh_server, **restored_files,
           "DJANGO_SETTINGS_MODULE": "config.settings.local", "PYTHONPATH": str(ROOT)}  # fmt: skip
    restored = manage("restore", str(folder), env=env)
    assert restored.returncode == 0, restored.stderr
    assert f"feedback.Prediction: {manifest['counts']['feedback.Prediction']}" in restored.stdout
    again = manage("restore", str(folder), env=env)
    assert again.returncode != 0 and "not empty" in again.stderr  # never over live data

    checked = subprocess.run([sys.executable, "-c", VERIFY], env=env, capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert json.loads(checked.stdout.strip().splitlines()[-1]) == {
        "sha256_ok": True, "after_backup": 0, "healthz": 200, "board": 200, "clustering": "succeeded",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_tampered_backup_is_refused(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    folder = backup_create(destination=tmp_path / "backups")
    archive = folder / "media.tar.gz"
    archive.write_bytes(archive.read_bytes() + b"x")

    with pytest.raises(BackupError, match="sha256"):
        manifest_read(folder)
    with pytest.raises(BackupError, match="not empty|sha256"):
        backup_restore(folder=folder)
    assert django_settings.MEDIA_ROOT == tmp_path / "media"
