"""DATABASES["default"] from the environment (base.py): SQLite by default, PostgreSQL with
DATABASE_URL; how connections are kept (persistent, or a pool) and what a PgBouncer in
transaction mode needs. A function of the environment, so tests can read it for any."""

from collections.abc import Mapping
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

PGBOUNCER_MODES = ("", "session", "transaction")


def _bool(value: str, name: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def _int(environment: Mapping[str, str], name: str, default: int) -> int:
    value = environment.get(name, "")
    try:
        return int(value) if value.strip() else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def default_database(environment: Mapping[str, str], data_dir: Path) -> dict:
    url = environment.get("DATABASE_URL") or f"sqlite:///{data_dir / 'db.sqlite3'}"
    db = environ.Env.db_url_config(url)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server read while the worker writes; IMMEDIATE takes the write lock
        # at BEGIN so concurrent writers queue instead of failing with "database is locked".
        db["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        return db

    db["CONN_HEALTH_CHECKS"] = True
    if _bool(environment.get("DATABASE_POOL", ""), "DATABASE_POOL"):
        # psycopg's pool, one per process (Django keeps it per alias; never shared across
        # fork: gunicorn workers import the app after forking, Celery's prefork children close
        # it around each task). Checked connections (CONN_HEALTH_CHECKS) on every checkout.
        min_size = _int(environment, "DATABASE_POOL_MIN_SIZE", 1)
        db["CONN_MAX_AGE"] = 0  # Django refuses a pool with persistent connections
        db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": min_size,
            "max_size": max(min_size, _int(environment, "DATABASE_POOL_MAX_SIZE", 4)),
            "timeout": _int(environment, "DATABASE_POOL_TIMEOUT", 10),
        }
    else:
        db["CONN_MAX_AGE"] = _int(environment, "DATABASE_CONN_MAX_AGE", 60)

    pgbouncer = environment.get("DATABASE_PGBOUNCER", "").strip().lower()
    if pgbouncer not in PGBOUNCER_MODES:
        raise ImproperlyConfigured(
            f"DATABASE_PGBOUNCER must be 'transaction', 'session' or empty, not {pgbouncer!r}"
        )
    if pgbouncer == "transaction":
        # Each transaction may run on another server connection: a cursor declared WITH HOLD
        # outside a transaction (what .iterator() does in autocommit) would be gone at the
        # next fetch. Django then reads iterator() results with a client-side cursor.
        db["DISABLE_SERVER_SIDE_CURSORS"] = True
    return db
