"""The optional on-disk spool: a bounded SQLite queue of records not yet delivered.

Records go there when the in-memory queue is full, when the server has been unreachable for a
while, or when the client closes with records undelivered; the sender drains it, oldest first,
once the server answers again. The file outlives the process: a new client given the same path
sends what is left. Several processes may share one file (SQLite locks it): two of them may
then send the same record, which the server stores once (predictions are idempotent by
request_id, feedback by external_id).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_seq ON records (seq, id);
"""

# (spool row id or None, order key, "predictions" | "feedback", JSON text of the record)
Record = tuple


class Spool:
    """A SQLite file holding at most `max_records` records; thread-safe."""

    def __init__(self, path: str, max_records: int) -> None:
        self.path = str(path)
        self.max_records = max_records
        self._lock = threading.Lock()
        self._db = self._connect()
        self._count = self._db.execute("SELECT count(*) FROM records").fetchone()[0]

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        return db

    def reopen_after_fork(self) -> None:
        """A forked child must not use its parent's connection: open its own."""
        self._lock = threading.Lock()
        self._db = self._connect()  # the inherited connection is left alone, never closed here
        self._count = self._db.execute("SELECT count(*) FROM records").fetchone()[0]

    def __len__(self) -> int:
        return self._count

    def add(self, records: Iterable[Record]) -> int:
        """Store records (their row ids are ignored); return how many fit under the bound."""
        rows = [(seq, kind, body) for _, seq, kind, body in records]
        with self._lock:
            room = max(0, self.max_records - self._count)
            rows = rows[:room]
            if rows:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._db.executemany(
                        "INSERT INTO records (seq, kind, body) VALUES (?, ?, ?)", rows
                    )
                self._count += len(rows)
        return len(rows)

    def peek(self, limit: int) -> list[Record]:
        """The oldest `limit` records, left in place until `remove`d."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, seq, kind, body FROM records ORDER BY seq, id LIMIT ?", (limit,)
            ).fetchall()
            if not rows:
                self._count = 0
            return [tuple(row) for row in rows]

    def remove(self, records: Sequence[Record]) -> None:
        ids = [(record[0],) for record in records if record[0] is not None]
        if not ids:
            return
        with self._lock:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("DELETE FROM records WHERE id = ?", ids)
            self._count = self._db.execute("SELECT count(*) FROM records").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
