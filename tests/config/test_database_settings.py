"""DATABASES["default"] from the environment: persistence, psycopg's pool, PgBouncer."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.database import default_database

URL = "postgres://voc:secret@db.example.com:6432/voc"


def database(tmp_path, **environment):
    return default_database({"DATABASE_URL": URL, **environment}, tmp_path)


def test_postgresql_keeps_connections_a_minute_with_health_checks_by_default(tmp_path):
    db = database(tmp_path)

    assert (db["HOST"], db["PORT"], db["NAME"]) == ("db.example.com", 6432, "voc")
    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (60, True)
    assert "pool" not in db.get("OPTIONS", {})
    assert not db.get("DISABLE_SERVER_SIDE_CURSORS")


def test_the_pool_replaces_persistent_connections(tmp_path):
    db = database(
        tmp_path, DATABASE_POOL="true", DATABASE_POOL_MIN_SIZE="2", DATABASE_POOL_MAX_SIZE="6"
    )

    assert db["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 6, "timeout": 10}
    assert db["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert db["CONN_HEALTH_CHECKS"] is True  # the pool checks each connection it hands out


def test_the_pool_never_holds_fewer_connections_at_most_than_at_least(tmp_path):
    db = database(tmp_path, DATABASE_POOL="on", DATABASE_POOL_MIN_SIZE="3")

    assert (db["OPTIONS"]["pool"]["min_size"], db["OPTIONS"]["pool"]["max_size"]) == (3, 4)
    assert database(tmp_path, DATABASE_POOL="false")["CONN_MAX_AGE"] == 60


def test_pgbouncer_in_transaction_mode_turns_server_side_cursors_off(tmp_path):
    bounced = database(tmp_path, DATABASE_PGBOUNCER="transaction", DATABASE_CONN_MAX_AGE="0")

    assert bounced["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert bounced["CONN_MAX_AGE"] == 0
    # Session pooling keeps a server connection per client: cursors work as they are.
    assert not database(tmp_path, DATABASE_PGBOUNCER="session").get("DISABLE_SERVER_SIDE_CURSORS")


@pytest.mark.parametrize(
    "environment",
    [
        {"DATABASE_PGBOUNCER": "statement"},
        {"DATABASE_POOL": "maybe"},
        {"DATABASE_POOL": "true", "DATABASE_POOL_MAX_SIZE": "lots"},
        {"DATABASE_CONN_MAX_AGE": "a minute"},
    ],
)
def test_a_value_it_cannot_use_stops_the_start_with_its_name(tmp_path, environment):
    with pytest.raises(ImproperlyConfigured, match=list(environment)[-1]):
        database(tmp_path, **environment)


def test_sqlite_by_default_is_left_as_it_was(tmp_path):
    db = default_database({"DATABASE_POOL": "true", "DATABASE_PGBOUNCER": "transaction"}, tmp_path)

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "db.sqlite3")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "pool" not in db["OPTIONS"] and not db.get("DISABLE_SERVER_SIDE_CURSORS")
