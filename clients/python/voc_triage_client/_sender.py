"""The sending half of VocClient: the background thread that takes batches from the queue
(or the spool), posts them, retries what may succeed later and counts the outcome."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ._http import (
    FEEDBACK,
    PREDICTIONS,
    RETRY_STATUSES,
    api_request,
    error_message,
    json_or_none,
)
from ._http import retry_after as retry_after_seconds
from ._journal import read_journal, remove_journal
from ._serialise import log_rejected, serialise
from ._spool import Record

logger = logging.getLogger("voc_triage_client")


# While records go to disk (an outage with a spool), the callers write each record to the
# journal (`_journal.py`), and the sender moves the journal, and the memory queue where there
# is no journal, into the spool at least this often (seconds).
SPOOL_EVERY = 0.2
# Batches of predictions posted at a time (the server's workers answer them side by side).
IN_FLIGHT = 2
# Records serialised ahead at a time while a request is in flight or a retry waits (the lock
# is held only to copy them out and to put them back).
AHEAD = 250


class _Stopped(Exception):
    """The client is closing: stop retrying."""


class SenderMixin:
    """Methods of VocClient that run on its sender thread (state lives on the client)."""

    # --- the sender ------------------------------------------------------------------------

    def _run(self) -> None:
        # Batches of predictions from memory are posted IN_FLIGHT at a time, each on its own
        # thread (they are idempotent and need no order); anything else (feedback, which may
        # name a prediction still in flight, the spool, a failing server) waits for those in
        # flight and is sent alone, in order.
        deliveries: list[threading.Thread] = []
        try:
            while True:
                batch, from_spool = self._next_batch()
                if batch is None:
                    break
                deliveries = [thread for thread in deliveries if thread.is_alive()]
                if from_spool or not self._may_overlap(batch):
                    for thread in deliveries:
                        thread.join()
                    deliveries = []
                    self._deliver(batch, from_spool)
                    continue
                while len(deliveries) >= IN_FLIGHT:
                    deliveries.pop(0).join()
                thread = threading.Thread(
                    target=self._deliver_apart, args=(batch,), name="voc-triage-batch", daemon=True
                )
                thread.start()
                deliveries.append(thread)
        except Exception:
            logger.exception("voc_triage_client: the sender failed")
        finally:
            for thread in deliveries:
                thread.join()
            if self._stop.is_set():
                self._spill(list(self._take_queue()), reason="the client closed")
                self._import_journal()

    def _may_overlap(self, batch: list[Record]) -> bool:
        return self._failing_since is None and all(record[2] == PREDICTIONS for record in batch)

    def _deliver_apart(self, batch: list[Record]) -> None:
        try:
            self._deliver(batch, False)
        except Exception:
            logger.exception("voc_triage_client: a batch failed")

    def _next_batch(self) -> tuple[list[Record] | None, bool]:
        """The next batch, from the spool while records are on disk (the memory queue goes
        there first, to keep the order), else from memory once it is full, due or flushed;
        (None, False) when the client is stopping."""
        deadline: float | None = None
        with self._lock:
            while True:
                if self._stop.is_set():
                    return None, False
                if self._spool_active and self._spool is not None:
                    if self._queue:
                        self._spool_queue_locked()
                        continue
                    if self._journal is not None and self._journal.count:
                        self._import_journal_locked()
                        continue
                    rows = self._spool.peek(self.batch_size)
                    if rows:
                        return rows, True
                    self._spool_active = False
                    self._cond.notify_all()
                    continue
                if self._queue:
                    now = time.monotonic()
                    if deadline is None:
                        deadline = now + self.flush_interval
                    if (
                        len(self._queue) >= self.batch_size
                        or self._flush_requests
                        or now >= deadline
                    ):
                        size = min(self.batch_size, len(self._queue))
                        batch = [self._queue.popleft() for _ in range(size)]
                        self._ready = max(0, self._ready - size)
                        self._front_taken += 1
                        self._inflight += len(batch)
                        return batch, False
                    self._cond.wait(deadline - now)
                    continue
                deadline = None
                self._cond.wait(self.flush_interval)

    def _spool_queue_locked(self) -> None:
        """Move the memory queue to the spool. Called holding the lock, which is let go
        during the disk write: callers keep appending (newer records) meanwhile."""
        records = list(self._queue)
        self._queue.clear()
        self._ready = 0
        self._front_taken += 1
        self._inflight += len(records)
        self._lock.release()
        try:
            self._spill(records, reason="the server is unreachable", counted_inflight=True)
        finally:
            self._lock.acquire()

    def _import_journal_locked(self) -> None:
        """`_import_journal`, called holding the lock (let go during the disk work)."""
        self._lock.release()
        try:
            self._import_journal()
        finally:
            self._lock.acquire()

    def _import_journal(self) -> None:
        """Move the records journaled by the callers into the spool. The file is read
        outside the lock; the insert and the count move together under it (about a
        millisecond for 0.2 s of records at 1,000 a second), so stats() never counts a record
        twice or not at all."""
        with self._lock:
            taken = self._journal.take() if self._journal is not None else None
        if taken is None:
            return
        path, count = taken
        try:
            records = read_journal(path)
        except OSError as exc:  # the file stays; a later client imports it
            logger.warning("voc_triage_client: could not read the journal: %s", exc)
            records = None
        with self._lock:
            stored = 0
            if records is not None:
                try:
                    stored = self._spool.add(records)
                    remove_journal(path)
                except Exception as exc:
                    logger.warning("voc_triage_client: could not import the journal: %s", exc)
            self._journaled = max(0, self._journaled - count)
            lost = len(records or ()) - stored
            if lost:
                self._resolved += lost
                self._drop_locked(lost, f"the spool is full with {lost} records undelivered")
            self._cond.notify_all()

    def _spool_queue_while_waiting(self, delay: float, event: Any) -> bool:
        """Wait up to `delay` seconds for `event`; meanwhile, while records go to disk, move
        the memory queue there every SPOOL_EVERY seconds. True when the event was set."""
        deadline = time.monotonic() + delay
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return event.is_set()
            if not (self._spool_active and self._spool is not None):
                # An outage without a spool yet: serialise what waits meanwhile (JSON text
                # is lighter on memory and on the garbage collector than tuples of dicts).
                if self._serialise_ahead():
                    if event.is_set():
                        return True
                    continue
                return event.wait(remaining)
            if event.wait(min(SPOOL_EVERY, remaining)):
                return True
            with self._lock:
                if self._queue and self._spool_active:
                    self._spool_queue_locked()
                if self._journal is not None and self._journal.count and self._spool_active:
                    self._import_journal_locked()

    def _take_queue(self) -> Iterable[Record]:
        with self._lock:
            records = list(self._queue)
            self._queue.clear()
            self._ready = 0
            self._front_taken += 1
            return records

    def _serialise_ahead(self) -> bool:
        """Serialise up to AHEAD queued predictions past the first `_ready` (already done), in
        place, so that their batch goes out without waiting for it. Runs on the sender thread
        only, while it would otherwise wait; meanwhile callers only append at the other end,
        so the positions copied out stay valid unless something was taken from the front
        (checked). True when there was work."""
        with self._lock:
            start = self._ready
            end = min(len(self._queue), start + AHEAD)
            if start >= end or self._spool_active:
                return False
            records = [self._queue[i] for i in range(start, end)]
            taken = self._front_taken
        good, bad = serialise(records)
        with self._lock:
            # Records taken from the front meanwhile (a batch, close) or serialised by another
            # thread: the positions copied out no longer hold these records.
            if self._front_taken != taken or self._ready != start:
                return False
            if not bad:
                for offset, record in enumerate(good):
                    self._queue[start + offset] = record
            else:  # rare: the slice is put back without the records that failed
                head = [self._queue.popleft() for _ in range(end)]
                self._queue.extendleft(reversed(head[:start] + good))
            self._ready = start + len(good)
        if bad:
            self._settle_rejected(bad, inflight=False)
        return True

    def _deliver(self, batch: list[Record], from_spool: bool) -> None:
        """Send a batch, predictions before feedback; on a long outage (with a spool) or at
        close, move what is left to the spool."""
        if not from_spool:
            batch, bad = serialise(batch)
            if bad:
                self._settle_rejected(bad, inflight=True)
        chunks = [
            chunk
            for kind in (PREDICTIONS, FEEDBACK)
            for chunk in self._chunks([r for r in batch if r[2] == kind])
        ]
        for index, chunk in enumerate(chunks):
            try:
                delivered = self._send(chunk, from_spool)
            except _Stopped:
                delivered = False
            if delivered:
                continue
            rest = [record for later in chunks[index:] for record in later]
            if from_spool:
                return  # still on disk
            if self._stop.is_set():
                self._spill(rest, reason="the client closed", counted_inflight=True)
            else:  # the server has been unreachable for spool_after seconds
                self._spill(
                    rest,
                    reason="the server is unreachable",
                    with_queue=True,
                    counted_inflight=True,
                )
            return

    def _chunks(self, records: list[Record]) -> list[list[Record]]:
        chunks: list[list[Record]] = []
        current: list[Record] = []
        size = 0
        for record in records:
            length = len(record[3].encode("utf-8")) + 1
            if current and size + length > self.max_batch_bytes:
                chunks.append(current)
                current, size = [], 0
            current.append(record)
            size += length
        if current:
            chunks.append(current)
        return chunks

    def _send(self, records: list[Record], from_spool: bool) -> bool:
        """POST records until the server answers. True when they are resolved; False when
        they should be spooled (a long outage). Raises `_Stopped` at close."""
        kind = records[0][2]
        attempt = 0
        while True:
            if self._stop.is_set():
                raise _Stopped
            items = ",".join(record[3] for record in records)
            body = ('{"' + kind + '":[' + items + "]}").encode("utf-8")
            status, headers, answer = self._post_while_serialising(kind, body)
            if status == 200:
                self._failing_since = None
                self._resolve(records, from_spool, json_or_none(answer))
                return True
            if status == 413 and len(records) > 1:
                self._failing_since = None
                half = len(records) // 2
                return self._send(records[:half], from_spool) and self._send(
                    records[half:], from_spool
                )
            if status is not None and status not in RETRY_STATUSES:
                self._failing_since = None
                self._reject_batch(records, from_spool, status, answer)
                return True
            # A connection error, a timeout, 429 or 5xx gateway errors: retry.
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            delay = self._backoff(attempt, headers)
            attempt += 1
            with self._lock:
                self._counts["retried"] += 1
            if now - self._last_retry_log >= self.drop_log_interval:
                self._last_retry_log = now
                logger.warning(
                    "voc_triage_client: sending %s failed (%s); retrying in %.1fs",
                    kind,
                    f"HTTP {status}" if status is not None else answer,
                    delay,
                )
            # With a spool, records go to disk `spool_after` seconds into the failure: on
            # time, not at the first retry after it (a backoff can be 30 s long).
            spool_at = None
            if not from_spool and self._spool is not None:
                spool_at = self._failing_since + self.spool_after
                if now >= spool_at:
                    return False
                delay = min(delay, spool_at - now)
            if retry_after_seconds(headers) is not None:
                # The server said when: only close() cuts that wait short.
                if self._spool_queue_while_waiting(delay, self._stop):
                    raise _Stopped
            else:
                # Our own backoff: flush() may end it (the server may be back), close() too.
                woken = self._spool_queue_while_waiting(delay, self._wake)
                self._wake.clear()
                if self._stop.is_set():
                    raise _Stopped
                if woken:
                    continue  # try again at once
            if spool_at is not None and time.monotonic() >= spool_at:
                return False

    def _post_while_serialising(self, kind: str, body: bytes) -> tuple:
        """POST on a short-lived thread (compressing and waiting on the server let go of the
        interpreter) while this one serialises the next records: the client's own work then
        overlaps the server's instead of adding to it."""
        answer: list = []
        poster = threading.Thread(
            target=lambda: answer.append(self._request("POST", kind, body, self.timeout)),
            name="voc-triage-post",
            daemon=True,
        )
        poster.start()
        while poster.is_alive() and self._serialise_ahead():
            pass
        poster.join()
        return answer[0] if answer else (None, None, "the request failed")

    def _backoff(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        retry_after = retry_after_seconds(headers)
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))

    def _resolve(self, records: list[Record], from_spool: bool, answer: Any) -> None:
        """Count the server's answer to a batch (logged before flush() can see it)."""
        if from_spool and self._spool is not None:
            self._spool.remove(records)
        answer = answer if isinstance(answer, dict) else {}
        rejected = answer.get("rejected") or []
        if rejected:
            logger.warning(
                "voc_triage_client: the server rejected %d of %d %s records (not retried); "
                "first: %s",
                len(rejected),
                len(records),
                records[0][2],
                json.dumps(rejected[0], ensure_ascii=False)[:500],
            )
        with self._lock:
            self._counts["sent"] += int(answer.get("accepted") or 0)
            self._counts["duplicates"] += int(answer.get("duplicates") or 0)
            self._counts["rejected"] += len(rejected)
            self._resolved += len(records)
            self._inflight = max(0, self._inflight - len(records))
            self._cond.notify_all()

    def _reject_batch(
        self, records: list[Record], from_spool: bool, status: int, answer: Any
    ) -> None:
        """A whole batch refused (a 4xx other than 413 and 429): counted, never retried."""
        if from_spool and self._spool is not None:
            self._spool.remove(records)
        logger.warning(
            "voc_triage_client: the server refused a batch of %d %s records with HTTP %d "
            "(not retried): %s",
            len(records),
            records[0][2],
            status,
            error_message(json_or_none(answer), answer),
        )
        with self._lock:
            self._counts["rejected"] += len(records)
            self._resolved += len(records)
            self._inflight = max(0, self._inflight - len(records))
            self._cond.notify_all()

    def _settle_rejected(self, bad: list[tuple[Record, Exception]], inflight: bool) -> None:
        """Records of the memory queue that failed the sender-side checks: logged, counted,
        never sent. `inflight`: they were counted in flight until now."""
        for record, exc in bad:
            log_rejected(record[2], record[3][0], exc)  # a prediction's fields: request_id first
        with self._lock:
            self._counts["rejected"] += len(bad)
            self._resolved += len(bad)
            if inflight:
                self._inflight = max(0, self._inflight - len(bad))
            self._cond.notify_all()

    def _spill(
        self,
        records: list[Record],
        reason: str,
        with_queue: bool = False,
        counted_inflight: bool = False,
    ) -> None:
        """Move undelivered records (and, `with_queue`, the whole memory queue) to the spool,
        or count them as dropped. `counted_inflight`: the records were counted in flight (so
        that flush() waits for them) until now."""
        counted = len(records) if counted_inflight else 0
        if with_queue and self._spool is not None:
            with self._lock:
                # From now on the sender spools what is queued before it sends anything, so
                # no newer record is sent from memory before these older ones.
                self._spool_active = True
                records = records + list(self._queue)
                self._queue.clear()
                self._ready = 0
                self._front_taken += 1
        records, bad = serialise(records)
        if bad:
            self._settle_rejected(bad, inflight=False)  # their place in flight goes below
        stored = 0
        if records and self._spool is not None:
            try:
                stored = self._spool.add(records)
            except Exception as exc:
                logger.warning("voc_triage_client: the spool failed: %s", exc)
        with self._lock:
            # Out of flight and onto the disk together: flush() never sees them nowhere.
            self._inflight = max(0, self._inflight - counted)
            if stored:
                self._spool_active = True
            lost = len(records) - stored
            if lost:
                self._resolved += lost  # flush() must not wait for them
                self._drop_locked(lost, f"{reason} with {lost} records undelivered")
            self._cond.notify_all()

    def _request(
        self, method: str, path: str, body: bytes | None, timeout: float | None
    ) -> tuple[int | None, Mapping[str, str] | None, Any]:
        return api_request(
            base_url=self.base_url,
            project=self.project,
            api_key=self.api_key,
            method=method,
            path=path,
            body=body,
            timeout=timeout or self.timeout,
        )
