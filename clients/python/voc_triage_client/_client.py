"""VocClient: log predictions and feedback without blocking the caller.

`log_*` checks a record (cheaply) and appends it to a bounded in-memory queue; a daemon
thread serialises and sends the queue in batches (up to `batch_size` records, or whatever is there
after `flush_interval` seconds) to the ingest endpoints of docs/api.md, retrying transient
failures with exponential backoff and jitter. Nothing in `log_*` raises or waits on the network.

This module is the public class, with each method's contract in its docstring; its queueing
half is `_queue.py`, its sending half `_sender.py`, HTTP `_http.py`.
"""

from __future__ import annotations

import atexit
import collections
import logging
import math
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Mapping
from typing import Any

from ._frames import frame_predictions
from ._http import (
    FEEDBACK,
    PREDICTIONS,
    VocApiError,
    VocConnectionError,
    VocError,
    error_message,
    json_or_none,
)
from ._journal import Journal, recover_journals
from ._queue import QueueMixin
from ._sender import SenderMixin
from ._spool import Record, Spool
from ._validate import feedback_json, prediction_fields

__all__ = ["VocClient", "VocError", "VocApiError", "VocConnectionError"]

logger = logging.getLogger("voc_triage_client")


class VocClient(QueueMixin, SenderMixin):
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
        spool_after: float = 5.0,
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
        # How many records at the front of the queue the sender has serialised ahead.
        self._ready = 0
        # Bumped each time records are taken from the front of the queue.
        self._front_taken = 0
        self._inflight = 0
        self._counts = {"sent": 0, "duplicates": 0, "rejected": 0, "retried": 0, "dropped": 0}
        self._enqueued = 0
        self._resolved = 0
        self._flush_requests = 0
        self._stop = threading.Event()
        # Set by flush() and close(): a backoff wait ends at once (the server may be back).
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._last_seq = 0
        self._last_drop_log = -math.inf
        self._last_retry_log = -math.inf
        self._failing_since: float | None = None
        if after_fork and self._spool is not None:
            self._spool.reopen_after_fork()
        # While the spool is in use, each record is also written to this process's journal
        # before log_* returns (`_journal.py`); records journaled, not yet in the spool:
        self._journaled = 0
        self._journal = None
        if self._spool is not None and Journal.available():
            self._journal = Journal(self._spool.path)
            try:
                recover_journals(self._spool)  # those of processes killed before us
            except Exception as exc:
                logger.warning("voc_triage_client: could not recover journals: %s", exc)
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

        What costs next to nothing is checked here: a record without its ids, label or input,
        or with a confidence that is not a finite number in 0..1, is not queued (False). The
        rest (scores, metadata that is not JSON-serialisable, lengths of texts...) is checked
        on the sender thread, to keep the caller's time low. Either way a refused record is
        counted as ``rejected`` and logged once as a warning naming the field.
        """
        try:
            fields = prediction_fields(
                request_id,
                model_version if model_version is not None else self.model_version,
                predicted_label,
                input_text,
                input_data,
                confidence,
                scores,
                latency_ms,
                served_at,
                metadata,
                customer_ref,
            )
        except Exception as exc:  # InvalidRecord, or anything else: never raise
            return self._reject_locally(PREDICTIONS, request_id, exc)
        return self._enqueue(PREDICTIONS, fields, request_id)

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
        return sum(self.log_prediction(**values) for values in frame_predictions(frame))

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
            self._wake.set()
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
            self._wake.set()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            # a backoff wait ends at once; a request in progress may take up to its timeout
            thread.join(1.0 + min(timeout, self.timeout))
        if thread is None or not thread.is_alive():
            self._spill(list(self._take_queue()), reason="the client closed")
            self._import_journal()
        if self._journal is not None:
            with self._lock:
                self._journal.close()
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
        data = json_or_none(body)
        if status != 200:
            raise VocApiError(status, error_message(data, body), data)
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise VocApiError(status, "the answer has no url", data)
        return data["url"]
