"""The journal: while records go to disk (an outage with a spool), the caller's thread appends
each record to this process's journal file before `log_*` returns. A host process killed
meanwhile (SIGKILL, out of memory) then loses nothing: what was written belongs to the
operating system. (A machine that loses power may lose its last unwritten pages, as the spool
may.) The sender moves the journal into the spool a few times a second; a new client moves the
journals no running process holds into the spool when it starts.

One file per process, `<spool>.pending.<pid>`, held with an exclusive `flock` while the process
lives (a forked child starts its own). A line is ``seq<TAB>kind<TAB>JSON`` (JSON text holds no
raw tab or newline). Where `fcntl` is missing (Windows), there is no journal: the memory queue
is moved to the spool every 0.2 s instead.
"""

from __future__ import annotations

import glob
import logging
import os
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ._spool import Record, Spool

logger = logging.getLogger("voc_triage_client")

SUFFIX = ".pending"


class Journal:
    """This process's journal file; the caller holds the client's lock around each call."""

    def __init__(self, spool_path: str) -> None:
        self.path = f"{spool_path}{SUFFIX}.{os.getpid()}"
        self._fd: int | None = None
        #: Lines written since the sender last took the file.
        self.count = 0

    @classmethod
    def available(cls) -> bool:
        return fcntl is not None

    def append(self, seq: int, kind: str, body: str) -> None:
        """Write one record (one `write` call); raises OSError when the disk refuses."""
        if self._fd is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # ours while this process lives
            self._fd = fd
        os.write(self._fd, f"{seq}\t{kind}\t{body}\n".encode())
        self.count += 1

    def take(self) -> tuple[str, int] | None:
        """Set the file aside for the sender to import (a new one begins at the next append):
        its new name and its number of lines, or None when it has none."""
        if not self.count or self._fd is None:
            return None
        taken = f"{self.path}.{time.time_ns()}"
        os.rename(self.path, taken)  # still locked by our descriptor until closed
        os.close(self._fd)
        self._fd = None
        count, self.count = self.count, 0
        return taken, count

    def close(self) -> None:
        """Let go of the file; removed when it holds nothing (else a later client imports it)."""
        if self._fd is None:
            return
        if not self.count:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        os.close(self._fd)
        self._fd = None


def read_journal(path: str) -> list[Record]:
    """The records of a journal file; a last line cut short by a crash is left out."""
    records: list[Record] = []
    with open(path, encoding="utf-8", errors="replace", newline="\n") as lines:
        for line in lines:
            if not line.endswith("\n"):
                break
            parts = line[:-1].split("\t", 2)
            if len(parts) == 3 and parts[0].isdigit():
                records.append((None, int(parts[0]), parts[1], parts[2]))
    return records


def remove_journal(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:  # another process imported it too: the server stores once
        pass


def import_journal(spool: Spool, path: str) -> tuple[int, int]:
    """Move a journal file's records into the spool and remove the file: (records read,
    records stored; the rest did not fit under the spool's bound). The file is kept when the
    spool fails, for a later import."""
    records = read_journal(path)
    stored = spool.add(records)
    remove_journal(path)
    return len(records), stored


def recover_journals(spool: Spool) -> int:
    """Import the journals of processes that no longer run (their lock is free), and files
    set aside but not imported; returns the records stored."""
    if fcntl is None:
        return 0
    stored = 0
    for path in sorted(glob.glob(glob.escape(spool.path) + SUFFIX + ".*")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # imported meanwhile by another process
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a running process's journal
            read, kept = import_journal(spool, path)
            stored += kept
            if kept < read:
                logger.warning(
                    "voc_triage_client: the spool is full: %d journal records dropped",
                    read - kept,
                )
        except OSError as exc:
            logger.warning("voc_triage_client: could not import %s: %s", path, exc)
        finally:
            os.close(fd)
    return stored
