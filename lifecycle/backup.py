"""Backup and restore of a deployment: the database and the media folder (exports, import
files, reference keys), with a manifest.

    <destination>/voc-backup-<UTC time>/
        manifest.json       what is inside, sha256 of each file, row counts, migrations
        database.dump       PostgreSQL: `pg_dump -Fc` (one consistent snapshot)
        database.sqlite3    the embedded default: SQLite's online backup (also consistent)
        media.tar.gz        every stored file (the media folder, or the bucket)

The database is dumped first, then the files are copied: a file written in between is in the
archive without a row naming it (harmless), and a row in the dump always finds the file it
named, unless the file was deleted meanwhile (an export superseded, an erasure): the manifest
lists what the archive holds. Redis holds nothing to back up (only derived work, which the
sweepers redo from the database).

A restore goes into an empty database and an empty media folder, never over live data, and
checks the row counts against the manifest.
"""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from core import files

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA_ARCHIVE = "media.tar.gz"
# Tables whose row counts the manifest records and a restore checks.
COUNTED = (
    "feedback.Project",
    "feedback.Prediction",
    "feedback.Feedback",
    "feedback.ImportJob",
    "triage.ClusteringRun",
    "triage.ErrorCategory",
    "triage.DatasetExport",
    "core.AuditEvent",
)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def row_counts() -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in COUNTED}


def _pg_env(database: dict) -> tuple[list[str], dict[str, str]]:
    """Connection options for the PostgreSQL tools, the password in the environment."""
    options = ["-h", str(database.get("HOST") or "localhost"), "-U", str(database.get("USER") or "postgres")]  # fmt: skip
    if database.get("PORT"):
        options += ["-p", str(database["PORT"])]
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return options, env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def backup_create(*, destination: Path, now: datetime | None = None) -> Path:
    """Write a backup folder under `destination`; return its path."""
    now = now or datetime.now(UTC)
    folder = Path(destination) / f"voc-backup-{now:%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True, exist_ok=False)
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        options, env = _pg_env(database)
        dump = folder / PG_DUMP
        # The counts are taken in the very snapshot pg_dump writes (an exported snapshot of a
        # repeatable-read transaction), so a restore must find exactly them.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            counts = row_counts()
            _run(["pg_dump", "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", *options, "-f", str(dump), database["NAME"]], env)  # fmt: skip
    elif connection.vendor == "sqlite":
        dump = folder / SQLITE_COPY
        connection.ensure_connection()
        target = sqlite3.connect(dump)
        try:
            connection.connection.backup(target)  # SQLite's online backup: a consistent copy
            counts = {
                label: target.execute(
                    f'SELECT count(*) FROM "{apps.get_model(label)._meta.db_table}"'  # noqa: S608
                ).fetchone()[0]
                for label in COUNTED
            }
        finally:
            target.close()
    else:
        raise BackupError(f"no backup for the {connection.vendor} database")

    archive = folder / MEDIA_ARCHIVE
    copied = 0
    with tarfile.open(archive, "w:gz") as tar:
        # Through the storage: the media folder, or the bucket (core.files).
        for name in files.names_under(""):
            _archive_add(tar, name)
            copied += 1
    migrations = sorted(
        f"{app}.{name}" for app, name in MigrationRecorder.Migration.objects.values_list("app", "name")
    )  # fmt: skip
    manifest = {
        "format": FORMAT,
        "created_at": now.isoformat(),
        "database": {
            "vendor": connection.vendor,
            "file": dump.name,
            "sha256": _sha256(dump),
            "bytes": dump.stat().st_size,
        },  # fmt: skip
        "media": {"file": archive.name, "sha256": _sha256(archive), "files": copied},
        "counts": counts,
        "migrations": migrations,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


def _archive_add(tar: tarfile.TarFile, name: str) -> None:
    with files.open_read(name) as source:
        info = tarfile.TarInfo(name)
        info.size = source.seek(0, io.SEEK_END)  # what is there now, even if it grows
        info.mtime = int(time.time())
        source.seek(0)
        tar.addfile(info, source)


def manifest_read(folder: Path) -> dict:
    """The manifest of a backup folder, its files checked against their sha256."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"no readable {MANIFEST} in {folder}: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for part in ("database", "media"):
        path = Path(folder) / manifest[part]["file"]
        if not path.is_file() or _sha256(path) != manifest[part]["sha256"]:
            raise BackupError(f"{path.name} is missing or does not match its sha256")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def backup_restore(*, folder: Path) -> dict:
    """Restore a backup folder into the configured database and MEDIA_ROOT, both empty.
    Returns the restored row counts (checked to equal the manifest's)."""
    manifest = manifest_read(folder)
    database = connection.settings_dict
    if manifest["database"]["vendor"] != connection.vendor:
        raise BackupError(
            f"the backup is of a {manifest['database']['vendor']} database, this is {connection.vendor}"
        )
    if not _database_is_empty():
        raise BackupError("the database is not empty: restore into a new, empty database")
    if next(files.names_under(""), None) is not None:
        where = settings.VOC_STORAGE_URL or settings.MEDIA_ROOT
        raise BackupError(f"{where} holds files: restore into an empty folder or bucket")

    dump = Path(folder) / manifest["database"]["file"]
    if connection.vendor == "postgresql":
        options, env = _pg_env(database)
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", *options, "-d", database["NAME"], str(dump)], env)  # fmt: skip
    else:
        connection.close()
        shutil.copyfile(dump, database["NAME"])
    connection.close()  # what the restore wrote is read afresh

    with tarfile.open(Path(folder) / MEDIA_ARCHIVE, "r:gz") as tar:
        for member in tar:
            # The "data" filter refuses absolute paths, escapes, links and devices.
            member = tarfile.data_filter(member, str(settings.MEDIA_ROOT))
            if member.isfile():
                with tar.extractfile(member) as source, files.write_file(member.name) as out:
                    shutil.copyfileobj(source, out, 1 << 20)

    counts = row_counts()
    if counts != manifest["counts"]:
        raise BackupError(
            f"restored row counts {counts} differ from the backup's {manifest['counts']}"
        )
    return counts
