"""Fault injection on the real PostgreSQL and Redis that `make test` started.

The tests here stop, kill and restart those servers, so they need to own them: `make test`
exports VOC_PGDATA, VOC_PG_BIN and VOC_SERVICES_DIR (scripts/services.sh).
Each test records its figures with the `figures` fixture (tests/conftest.py).
"""

import os
import shlex
import subprocess
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections

from core.publish import broker_cooldown_reset


def _owned() -> bool:
    return bool(os.environ.get("VOC_PGDATA") and os.environ.get("VOC_SERVICES_DIR"))


@pytest.fixture(autouse=True)
def _services_owned():
    if not _owned():
        if os.environ.get("VOC_REQUIRE_SERVICES") == "true":
            pytest.fail("fault tests need the servers started by `make test`")
        pytest.skip("fault tests need the servers started by `make test` (scripts/services.sh)")


class Redis:
    def __init__(self):
        self.port = urlsplit(settings.REDIS_URL).port
        self.folder = os.environ["VOC_SERVICES_DIR"]

    def up(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return "PONG" in result.stdout

    def stop(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True
        )
        deadline = time.monotonic() + 10
        while self.up() and time.monotonic() < deadline:
            time.sleep(0.05)

    def start(self) -> None:
        subprocess.run(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "yes",
             "--pidfile", f"{self.folder}/redis.pid", "--logfile", f"{self.folder}/redis.log"],
            check=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.up() and time.monotonic() < deadline:
            time.sleep(0.05)
        broker_cooldown_reset()


class Postgres:
    def __init__(self):
        self.data = os.environ["VOC_PGDATA"]
        self.bin = os.environ["VOC_PG_BIN"]
        self.folder = os.environ["VOC_SERVICES_DIR"]
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, f"{self.bin}/pg_ctl", "-D", self.data, "-w", *args],
            # A started server inherits our stdout: never a pipe we would wait on.
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        # The running server's command line (port, socket folder, settings), to start it again.
        with open(os.path.join(self.data, "postmaster.opts")) as file:
            words = shlex.split(file.read())[1:]
        self.options = [w for i, w in enumerate(words) if "-D" not in (w, words[i - 1])]
        self._pg_ctl("-m", "immediate", "stop")

    def start(self) -> None:
        self._pg_ctl("-l", f"{self.folder}/pg.log", "-o", shlex.join(self.options), "start")

    def restart_immediately(self) -> None:
        """Crash-stop (no checkpoint, connections cut) and start again, as a failover would."""
        subprocess.run(
            [*self.as_user, f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "-w",
             "-l", f"{self.folder}/pg.log", "restart"],
            # The restarted server inherits our stdout: never a pipe we would wait on.
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip


@pytest.fixture
def redis_server():
    server = Redis()
    yield server
    if not server.up():
        server.start()


@pytest.fixture
def postgres_server():
    # The test server runs with synchronous_commit off for speed, which lets a crash drop
    # transactions already committed; production keeps PostgreSQL's default (on).
    # (A database setting outranks the server's command line for every new session.)
    database = connections["default"].settings_dict["NAME"]
    with connections["default"].cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = on')
    for connection in connections.all():
        connection.close()
    yield Postgres()
    for connection in connections.all():
        connection.close()
    with connections["default"].cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{database}" RESET synchronous_commit')
    # The test process's own connections died with the server: open fresh ones.
    for connection in connections.all():
        connection.close()
