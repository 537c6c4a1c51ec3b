"""A real PgBouncer on a loopback port in front of the test PostgreSQL (Debian's `pgbouncer`,
installed by scripts/system-deps.sh), for tests of what works behind one."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgBouncer:
    """Transaction pooling (each transaction may run on another server connection) over
    `servers` server connections, handed out in turn (server_round_robin: with the default,
    last-in first-out, a client would mostly get the same server back and hide what
    transaction pooling breaks)."""

    def __init__(self, pg_host: str, pg_port: int, servers: int = 2):
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.path.exists(binary):
            if os.environ.get("VOC_REQUIRE_SERVICES") == "true":
                pytest.fail("pgbouncer must be installed in CI (scripts/system-deps.sh)")
            pytest.skip("pgbouncer not installed")
        self.port = free_port()
        # Under /tmp, readable by the user it runs as (it refuses to run as root).
        self.folder = Path(tempfile.mkdtemp(prefix="voc-pgbouncer-"))
        self.folder.chmod(0o755)
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={pg_host} port={pg_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'users.txt'}\n"
            "admin_users = postgres\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {servers}\nserver_round_robin = 1\n"
            "max_client_conn = 200\n"
            # Sent by psycopg/libpq clients; harmless to drop.
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
        )
        args = [binary]
        if os.getuid() == 0:
            shutil.chown(self.folder, "postgres")
            args += ["-u", "postgres"]
        self.process = subprocess.Popen(
            [*args, str(self.folder / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while True:
            try:
                psycopg.connect(self.url("pgbouncer"), autocommit=True).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("pgbouncer did not start: " + self.log()) from None
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def server_connections(self, database: str) -> list[dict]:
        """The server connections it holds for `database` (its admin console's SHOW SERVERS)."""
        with psycopg.connect(self.url("pgbouncer"), autocommit=True) as admin:
            cursor = admin.cursor(row_factory=psycopg.rows.dict_row)
            rows = cursor.execute("SHOW SERVERS").fetchall()
        return [row for row in rows if row["database"] == database]

    def open_servers(self, database: str, n: int) -> None:
        """Make it open `n` server connections now: `n` clients each in a transaction at once."""
        clients = [psycopg.connect(self.url(database)) for _ in range(n)]
        for client in clients:
            client.execute("SELECT 1")
        for client in clients:  # ended before closing: a client gone mid-transaction
            client.rollback()  # takes its server connection with it
            client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        shutil.rmtree(self.folder, ignore_errors=True)
