"""VocClient: log predictions and feedback without blocking the caller.

`log_*` checks a record (cheaply), serialises it and appends it to a bounded in-memory queue;
a daemon thread sends the queue in batches (up to `batch_size` records, or whatever is there
after `flush_interval` seconds) to the ingest endpoints of docs/api.md, retrying transient
failures with exponential backoff and jitter. Nothing in `log_*` raises or waits on the network.
"""

from __future__ import annotations

import atexit
import collections
import email.utils
import http.client
import json
import logging
import math
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from ._spool import Record, Spool
from ._validate import InvalidRecord, feedback_json, prediction_json

__all__ = ["VocClient", "VocError", "VocApiError", "VocConnectionError"]

logger = logging.getLogger("voc_triage_client")

VERSION = "0.1.0"
PREDICTIONS = "predictions"
FEEDBACK = "feedback"
# Statuses worth retrying: the server is overloaded, restarting or behind a proxy that is.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
PREDICTION_FIELDS = (
    "request_id",
    "model_version",
    "predicted_label",
    "input_text",
    "input_data",
    "confidence",
    "scores",
    "latency_ms",
    "served_at",
    "metadata",
    "customer_ref",
)


class VocError(Exception):
    """Base class of the errors `feedback_link` raises (the `log_*` methods never raise)."""


class VocConnectionError(VocError):
    """The server could not be reached."""


class VocApiError(VocError):
    """The server answered with an error status."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


class _Stopped(Exception):
    """The client is closing: stop retrying."""


class VocClient:
    """A client of one project of a VoC Triage server.

    Args:
        base_url: the server, e.g. ``https://voc.example.com``.
        api_key: a key of the project with the ``ingest`` scope.
        project: the project's slug.
        model_version: used by ``log_prediction`` when a call gives none.
        max_queue: records held in memory at most; past it a record is spooled (with
            ``spool_path``) or dropped and counted.
        batch_size: records per request at most (the server takes up to 10,000).
        flush_interval: seconds a record waits at most for its batch to fill.
        timeout: seconds for each HTTP request.
        backoff_base, backoff_max: retry delays grow as ``backoff_base * 2**attempt`` up to
            ``backoff_max`` seconds, with full jitter; a ``Retry-After`` header is honoured (up
            to ``retry_after_max``).
        spool_path: a SQLite file for records that do not fit in memory or cannot be sent
            for ``spool_after`` seconds; a new client with the same path sends what is left.
        spool_max_records: records the spool holds at most; past it they are dropped.
        max_batch_bytes: request bodies are split to stay under this size (the server's
            limit is 10 MB).
        drop_log_interval: seconds between two warnings about dropped records.
        atexit_timeout: seconds the interpreter's exit waits for undelivered records.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        project: str,
        *,
        model_version: str | None = None,
        max_queue: int = 100_000,
        batch_size: int = 1000,
        flush_interval: float = 1.0,
        timeout: float = 10.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 300.0,
        spool_path: str | os.PathLike[str] | None = None,
        spool_max_records: int = 1_000_000,
        spool_after: float = 30.0,
        max_batch_bytes: int = 4 * 1024 * 1024,
        drop_log_interval: float = 60.0,
        atexit_timeout: float = 2.0,
    ) -> None:
        if not base_url or not api_key or not project:
            raise ValueError("base_url, api_key and project are required")
        #: The server; may be reassigned, the sender uses the current value at each attempt.
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.project = project
        self.model_version = model_version
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.spool_after = spool_after
        self.max_batch_bytes = max_batch_bytes
        self.drop_log_interval = drop_log_interval
        self.atexit_timeout = atexit_timeout
        self._closed = False
        self._spool = Spool(os.fspath(spool_path), spool_max_records) if spool_path else None
        self._init_runtime()

        ref = weakref.ref(self)

        def after_fork_in_child() -> None:
            client = ref()
            if client is not None:
                client._init_runtime(after_fork=True)

        def at_exit() -> None:
            client = ref()
            if client is not None:
                client.close(timeout=client.atexit_timeout)

        os.register_at_fork(after_in_child=after_fork_in_child)
        self._at_exit = at_exit
        atexit.register(at_exit)
        if self._spool_active:
            self._ensure_sender()  # records left by an earlier process

    @classmethod
    def from_env(cls, **options: Any) -> VocClient:
        """A client configured by VOC_BASE_URL, VOC_API_KEY and VOC_PROJECT (all required);
        keyword arguments are passed on to the constructor."""
        missing = [
            name
            for name in ("VOC_BASE_URL", "VOC_API_KEY", "VOC_PROJECT")
            if not os.environ.get(name)
        ]
        if missing:
            raise ValueError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            base_url=os.environ["VOC_BASE_URL"],
            api_key=os.environ["VOC_API_KEY"],
            project=os.environ["VOC_PROJECT"],
            **options,
        )

    # --- state -----------------------------------------------------------------------------

    def _init_runtime(self, after_fork: bool = False) -> None:
        """Fresh queue, counters and (lazily) sender thread: at start and in a forked child,
        whose copy of the parent's queue belongs to the parent (which sends it)."""
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queue: collections.deque[Record] = collections.deque()
        self._inflight = 0
        self._counts = {"sent": 0, "duplicates": 0, "rejected": 0, "retried": 0, "dropped": 0}
        self._enqueued = 0
        self._resolved = 0
        self._flush_requests = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._last_seq = 0
        self._last_drop_log = -math.inf
        self._last_retry_log = -math.inf
        self._failing_since: float | None = None
        if after_fork and self._spool is not None:
            self._spool.reopen_after_fork()
        self._spool_active = bool(self._spool is not None and len(self._spool))
        if self._spool_active:
            self._enqueued = len(self._spool)

    def _ensure_sender(self) -> None:
        if self._pid != os.getpid():  # forked without the hook having run
            self._init_runtime(after_fork=True)
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._closed or (self._thread is not None and self._thread.is_alive()):
                return
            thread = threading.Thread(target=self._run, name="voc-triage-sender", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down
                return
            self._thread = thread

    def _next_seq(self) -> int:
        """An order key, increasing within the process and across restarts (spool order)."""
        self._last_seq = max(time.time_ns(), self._last_seq + 1)
        return self._last_seq

    # --- logging ---------------------------------------------------------------------------

    def log_prediction(
        self,
        *,
        request_id: str,
        predicted_label: str,
        input_text: str | None = None,
        input_data: Mapping[str, Any] | None = None,
        model_version: str | None = None,
        confidence: float | None = None,
        scores: Mapping[str, float] | None = None,
        latency_ms: float | None = None,
        served_at: Any = None,
        metadata: Mapping[str, Any] | None = None,
        customer_ref: str | None = None,
    ) -> bool:
        """Queue one prediction; return at once whether it was queued. Never raises.

        A record that fails the client's checks (a required field missing, a confidence that
        is not a finite number in 0..1, metadata that is not JSON-serialisable...) is counted
        as ``rejected`` and logged once as a warning.
        """
        try:
            body = prediction_json(
                request_id=request_id,
                model_version=model_version if model_version is not None else self.model_version,
                predicted_label=predicted_label,
                input_text=input_text,
                input_data=input_data,
                confidence=confidence,
                scores=scores,
                latency_ms=latency_ms,
                served_at=served_at,
                metadata=metadata,
                customer_ref=customer_ref,
            )
        except InvalidRecord as exc:
            return self._reject_locally(PREDICTIONS, request_id, exc)
        except Exception as exc:  # never raise into the caller
            return self._reject_locally(PREDICTIONS, request_id, exc)
        return self._enqueue(PREDICTIONS, body)

    def log_feedback(
        self,
        *,
        kind: str,
        request_id: str | None = None,
        text: str | None = None,
        corrected_label: str | None = None,
        rating: int | None = None,
        external_id: str | None = None,
        source: str | None = None,
        customer_ref: str | None = None,
        created_at: Any = None,
    ) -> bool:
        """Queue one feedback item (``complaint``, ``correction`` or ``rating``); return at
        once whether it was queued. Never raises.

        Feedback is sent after the predictions queued before it, so a correction may follow
        its prediction immediately. Without ``external_id`` one is generated, which makes a
        resent batch idempotent on the server.
        """
        try:
            body = feedback_json(
                kind=kind,
                request_id=request_id,
                text=text,
                corrected_label=corrected_label,
                rating=rating,
                external_id=external_id,
                source=source,
                customer_ref=customer_ref,
                created_at=created_at,
            )
        except Exception as exc:  # InvalidRecord, or anything else: never raise
            return self._reject_locally(FEEDBACK, request_id, exc)
        return self._enqueue(FEEDBACK, body)

    def log_predictions_frame(self, frame: Any) -> int:
        """Queue one prediction per row of a pandas DataFrame; return how many were queued.

        Columns named like ``log_prediction``'s arguments are used (others are ignored);
        missing values (NaN, None, NaT) count as absent. Never raises.
        """
        try:
            import pandas as pd  # lazily: pandas is not a dependency
        except ImportError:
            logger.warning("log_predictions_frame needs pandas, which is not installed")
            return 0
        try:
            columns = [name for name in PREDICTION_FIELDS if name in frame.columns]
            rows = frame[columns].to_dict("records")
        except Exception as exc:
            logger.warning("log_predictions_frame: not a usable DataFrame (%s)", exc)
            return 0
        queued = 0
        for row in rows:
            values = {name: _cell(pd, value) for name, value in row.items()}
            queued += self.log_prediction(**values)
        return queued

    def _reject_locally(self, kind: str, request_id: Any, exc: Exception) -> bool:
        with self._lock:
            self._counts["rejected"] += 1
        logger.warning(
            "voc_triage_client: %s record rejected before sending (request_id=%r): %s",
            "prediction" if kind == PREDICTIONS else "feedback",
            request_id,
            exc,
        )
        return False

    def _enqueue(self, kind: str, body: str) -> bool:
        try:
            self._ensure_sender()
            with self._lock:
                if self._closed:
                    self._drop_locked(1, "the client is closed")
                    return False
                record: Record = (None, self._next_seq(), kind, body)
                spool = self._spool
                if spool is not None and (self._spool_active or len(self._queue) >= self.max_queue):
                    # Once records are on disk, newer ones follow them there: the order is kept.
                    try:
                        stored = spool.add([record])
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
                if len(self._queue) >= self.max_queue:
                    self._drop_locked(1, "the queue is full")
                    return False
                self._queue.append(record)
                self._enqueued += 1
                if len(self._queue) >= self.batch_size:
                    self._cond.notify_all()
                return True
        except Exception as exc:  # never raise into the caller
            logger.warning("voc_triage_client: could not queue a record: %s", exc)
            return False

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
                "spooled": len(self._spool) if self._spool is not None else 0,
            }

    def _pending_locked(self) -> int:
        spooled = len(self._spool) if self._spool is not None and self._spool_active else 0
        return len(self._queue) + self._inflight + spooled

    def flush(self, timeout: float = 10.0) -> bool:
        """Send what is queued now without waiting for the batch interval; wait at most
        ``timeout`` seconds. True when every record queued so far has been answered by the
        server (stored, a duplicate, or rejected); False on timeout."""
        deadline = time.monotonic() + max(0.0, timeout)
        if self._pid != os.getpid():
            self._init_runtime(after_fork=True)
        with self._lock:
            target = self._enqueued
            if self._resolved >= target or self._pending_locked() == 0:
                return True
            if self._closed:  # nothing sends any more: what is left stays in the spool
                return False
        self._ensure_sender()
        with self._lock:
            self._flush_requests += 1
            self._cond.notify_all()
            try:
                while self._resolved < target and self._pending_locked() > 0:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._flush_requests -= 1

    def close(self, timeout: float = 5.0) -> None:
        """Flush for up to ``timeout`` seconds, then stop the sender. Records still undelivered
        go to the spool (when there is one) or are counted as dropped. Idempotent."""
        with self._lock:
            if self._closed:
                return
        self.flush(timeout)
        with self._lock:
            self._closed = True
            self._stop.set()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            # a backoff wait ends at once; a request in progress may take up to its timeout
            thread.join(1.0 + min(timeout, self.timeout))
        if thread is None or not thread.is_alive():
            self._spill(list(self._take_queue()), reason="the client closed")
        atexit.unregister(self._at_exit)
        if self._spool is not None and (thread is None or not thread.is_alive()):
            self._spool.close()

    def __enter__(self) -> VocClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the feedback link -----------------------------------------------------------------

    def feedback_link(self, request_id: str, timeout: float | None = None) -> str:
        """The customer's feedback page for a prediction: a signed URL to show with the answer.

        Blocking. Records still queued are flushed first (for up to ``timeout`` seconds), so a
        prediction logged just before is on the server when the link is asked for. Raises
        `VocApiError` (404 when the server has no prediction with this request_id) or
        `VocConnectionError`.
        """
        timeout = timeout if timeout is not None else self.timeout
        with self._lock:
            pending = self._pending_locked() > 0
        if pending:
            self.flush(timeout)
        path = f"predictions/{urllib.parse.quote(request_id, safe='')}/feedback-link"
        status, _, body = self._request("GET", path, None, timeout)
        if status is None:
            raise VocConnectionError(str(body))
        data = _json(body)
        if status != 200:
            raise VocApiError(status, _error_message(data, body), data)
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise VocApiError(status, "the answer has no url", data)
        return data["url"]

    # --- the sender ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                batch, from_spool = self._next_batch()
                if batch is None:
                    break
                self._deliver(batch, from_spool)
        except Exception:
            logger.exception("voc_triage_client: the sender failed")
        finally:
            if self._stop.is_set():
                self._spill(list(self._take_queue()), reason="the client closed")

    def _next_batch(self) -> tuple[list[Record] | None, bool]:
        """The next batch, from memory (older) or the spool, once it is full, due or flushed;
        (None, False) when the client is stopping."""
        deadline: float | None = None
        with self._lock:
            while True:
                if self._stop.is_set():
                    return None, False
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
                        self._inflight = len(batch)
                        return batch, False
                    self._cond.wait(deadline - now)
                    continue
                deadline = None
                if self._spool_active and self._spool is not None:
                    rows = self._spool.peek(self.batch_size)
                    if rows:
                        return rows, True
                    self._spool_active = False
                    self._cond.notify_all()
                    continue
                self._cond.wait(self.flush_interval)

    def _take_queue(self) -> Iterable[Record]:
        with self._lock:
            records = list(self._queue)
            self._queue.clear()
            return records

    def _deliver(self, batch: list[Record], from_spool: bool) -> None:
        """Send a batch, predictions before feedback; on a long outage (with a spool) or at
        close, move what is left to the spool."""
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
            with self._lock:
                self._inflight = 0
            if from_spool:
                return  # still on disk
            if self._stop.is_set():
                self._spill(rest, reason="the client closed")
            else:  # the server has been unreachable for spool_after seconds
                self._spill(rest, reason="the server is unreachable", with_queue=True)
            return
        with self._lock:
            self._inflight = 0

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
            status, headers, answer = self._request("POST", kind, body, self.timeout)
            if status == 200:
                self._failing_since = None
                self._resolve(records, from_spool, _json(answer))
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
            if (
                not from_spool
                and self._spool is not None
                and now - self._failing_since >= self.spool_after
            ):
                return False
            if self._stop.wait(delay):
                raise _Stopped

    def _backoff(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        retry_after = _retry_after(headers)
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
            _error_message(_json(answer), answer),
        )
        with self._lock:
            self._counts["rejected"] += len(records)
            self._resolved += len(records)
            self._inflight = max(0, self._inflight - len(records))
            self._cond.notify_all()

    def _spill(self, records: list[Record], reason: str, with_queue: bool = False) -> None:
        """Move undelivered records (and, `with_queue`, the whole memory queue) to the spool,
        or count them as dropped."""
        if with_queue and self._spool is not None:
            with self._lock:
                # From now on log_* writes to the spool too (ordered there by seq), so no newer
                # record is sent from memory before these older ones.
                self._spool_active = True
                records = records + list(self._queue)
                self._queue.clear()
        if not records:
            return
        stored = 0
        if self._spool is not None:
            try:
                stored = self._spool.add(records)
            except Exception as exc:
                logger.warning("voc_triage_client: the spool failed: %s", exc)
        with self._lock:
            if stored:
                self._spool_active = True
            lost = len(records) - stored
            if lost:
                self._resolved += lost  # flush() must not wait for them
                self._drop_locked(lost, f"{reason} with {lost} records undelivered")
            self._cond.notify_all()

    # --- HTTP ------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, body: bytes | None, timeout: float | None
    ) -> tuple[int | None, Mapping[str, str] | None, Any]:
        """(status, headers, body bytes), or (None, None, error text) when unreachable."""
        url = f"{self.base_url}/api/v1/projects/{urllib.parse.quote(self.project)}/{path}"
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"voc-triage-client/{VERSION}",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers, exc.read()
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # URLError, timeouts, resets, a body cut short, bad URLs
            reason = getattr(exc, "reason", exc)
            return None, None, f"{type(exc).__name__}: {reason}"


def _json(body: Any) -> Any:
    if not isinstance(body, (bytes, str)):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error_message(data: Any, raw: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("message") or data["error"].get("code"))
    if isinstance(raw, bytes):
        return raw[:200].decode("utf-8", "replace")
    return str(raw)[:200]


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _cell(pd: Any, value: Any) -> Any:
    """A DataFrame cell as log_prediction takes it: missing as None, timestamps as datetimes,
    numpy scalars as Python numbers."""
    if isinstance(value, (dict, list, tuple, str)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value
