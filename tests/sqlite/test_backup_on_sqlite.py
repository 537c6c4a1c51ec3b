"""Backup and restore on the embedded default: SQLite's online backup, restored by
`manage.py restore` into a new database file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from lifecycle.backup import backup_create, manifest_read
from tests.factories import FeedbackFactory, PredictionFactory

pytestmark = pytest.mark.sqlite
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _only_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("runs in the SQLite phase of `make test`")


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_backup_restores_into_a_new_file(tmp_path, settings, project):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "exports").mkdir(parents=True)
    (tmp_path / "media" / "exports" / "kept.jsonl").write_text('{"a": 1}\n')
    FeedbackFactory.create_batch(3, prediction=PredictionFactory(project=project))

    folder = backup_create(destination=tmp_path / "backups")
    manifest = manifest_read(folder)
    assert manifest["database"]["vendor"] == "sqlite"
    assert manifest["counts"]["feedback.Feedback"] == 3

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}",
           "VOC_MEDIA_ROOT": str(tmp_path / "restored-media"), "VOC_DATA_DIR": str(tmp_path / "data"),
           "DJANGO_SETTINGS_MODULE": "config.settings.local"}  # fmt: skip
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "manage.py", "restore", str(folder)], env=env,
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "feedback.Feedback: 3" in done.stdout
    assert (tmp_path / "restored-media" / "exports" / "kept.jsonl").read_text() == '{"a": 1}\n'
