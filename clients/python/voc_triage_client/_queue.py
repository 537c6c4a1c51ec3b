"""The queueing half of VocClient, on the caller's thread: a record goes to the bounded
memory queue, or to the spool when the queue is full, or is counted as dropped; and the
counters `stats()` reads. The sending half is `_sender.py`."""

from __future__ import annotations

import logging
import time
from typing import Any

from ._serialise import log_rejected, serialise
from ._spool import Record

logger = logging.getLogger("voc_triage_client")


class QueueMixin:
    """Needs the client's lock, condition, queue, spool and counters (VocClient.__init__)."""

    def _reject_locally(self, kind: str, request_id: Any, exc: Exception) -> bool:
        with self._lock:
            self._counts["rejected"] += 1
        log_rejected(kind, request_id, exc)
        return False

    def _enqueue(self, kind: str, payload: str | tuple, request_id: Any = None) -> bool:
        """Append a record (feedback as JSON text, a prediction as the tuple of its fields,
        which the sender serialises) to the memory queue; when the queue is full, to the spool or
        nowhere (counted as dropped)."""
        try:
            self._ensure_sender()
            with self._lock:
                if self._closed:
                    self._drop_locked(1, "the client is closed")
                    return False
                record: Record = (None, self._next_seq(), kind, payload)
                if self._spool_active and self._journal is not None:
                    written = self._journal_locked(record)
                    if written is not None:
                        return written
                if len(self._queue) < self.max_queue:
                    self._queue.append(record)
                    self._enqueued += 1
                    if len(self._queue) >= self.batch_size:
                        self._cond.notify_all()
                    return True
                spool = self._spool
                if spool is None:
                    self._drop_locked(1, "the queue is full")
                    return False
                # Rare (the sender moves the queue to disk as it fills): written here, in order
                # after the queue, which the sender will spool before sending anything.
                serialised, bad = serialise([record])
                if bad:
                    self._counts["rejected"] += 1
                    log_rejected(
                        kind,
                        payload.get("request_id") if isinstance(payload, dict) else None,
                        bad[0][1],
                    )
                    return False
                try:
                    stored = spool.add(serialised)
                except Exception as exc:
                    logger.warning("voc_triage_client: the spool failed: %s", exc)
                    stored = 0
                if stored:
                    self._spool_active = True
                    self._enqueued += 1
                    self._cond.notify_all()
                    return True
                self._drop_locked(1, "the queue and the spool are full")
                return False
        except Exception as exc:  # never raise into the caller
            logger.warning("voc_triage_client: could not queue a record: %s", exc)
            return False

    def _journal_locked(self, record: Record) -> bool | None:
        """While the spool is in use: the record written to the journal before returning
        (True), rejected by the checks (False), or None when the disk refused it (it then
        goes to the memory queue as usual)."""
        serialised, bad = serialise([record])
        if bad:
            payload = record[3]
            self._counts["rejected"] += 1
            log_rejected(record[2], payload[0] if isinstance(payload, tuple) else None, bad[0][1])
            return False
        if len(self._spool) + self._journaled >= self._spool.max_records:
            self._drop_locked(1, "the spool is full")
            return False
        _, seq, kind, body = serialised[0]
        try:
            self._journal.append(seq, kind, body)
        except OSError as exc:
            now = time.monotonic()
            if now - self._last_drop_log >= self.drop_log_interval:
                self._last_drop_log = now
                logger.warning("voc_triage_client: the journal failed: %s", exc)
            return None
        self._enqueued += 1
        self._journaled += 1
        return True

    def _drop_locked(self, count: int, reason: str) -> None:
        self._counts["dropped"] += count
        now = time.monotonic()
        if now - self._last_drop_log >= self.drop_log_interval:
            self._last_drop_log = now
            logger.warning(
                "voc_triage_client: dropping records: %s (%d dropped so far)",
                reason,
                self._counts["dropped"],
            )

    # --- reading the state -----------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counters of this process's client.

        ``queued``: records in memory not yet resolved (including the batch being sent);
        ``spooled``: records on disk now; ``sent``: stored by the server; ``duplicates``: the
        server had them already; ``rejected``: refused by the client's checks or the server
        (not retried); ``retried``: requests repeated after a transient failure; ``dropped``:
        records lost (queue and spool full, or undelivered at close without a spool).
        """
        with self._lock:
            return {
                "queued": len(self._queue) + self._inflight,
                "sent": self._counts["sent"],
                "duplicates": self._counts["duplicates"],
                "rejected": self._counts["rejected"],
                "retried": self._counts["retried"],
                "dropped": self._counts["dropped"],
                "spooled": (len(self._spool) if self._spool is not None else 0) + self._journaled,
            }

    def _pending_locked(self) -> int:
        spooled = len(self._spool) if self._spool is not None and self._spool_active else 0
        return len(self._queue) + self._inflight + spooled + self._journaled
