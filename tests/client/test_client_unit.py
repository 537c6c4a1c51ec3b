"""The client library on its own: checks, counters, batching, retries, the queue bound, fork
and the spool, against a stub HTTP server (no Django involved)."""

import logging
import os
import time

import pytest
from voc_triage_client import VocApiError, VocClient, VocConnectionError

from tests.client.helpers import PREDICTION, log, package_path


def test_the_library_imports_nothing_of_django_or_the_app():
    import subprocess
    import sys

    code = (
        "import sys, voc_triage_client; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('django', 'rest_framework', 'feedback', 'core', 'triage', 'config', 'pandas')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "PYTHONPATH": package_path()}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"request_id": "r", "predicted_label": "a"}, "input_text or input_data"),
        ({"request_id": "", "input_text": "q", "predicted_label": "a"}, "request_id"),
        ({"request_id": "r", "input_text": "q", "predicted_label": None}, "predicted_label"),
        ({"request_id": "r", "input_text": "q", "predicted_label": "a", "confidence": float("nan")}, "finite"),
        ({"request_id": "r", "input_text": "q", "predicted_label": "a", "confidence": 1.5}, "at most"),
        ({"request_id": "r", "input_text": "q", "predicted_label": "a", "confidence": "high"}, "number"),
        ({"request_id": "r", "input_text": "q", "predicted_label": "a", "model_version": None}, "model_version"),
        ({"request_id": object(), "input_text": "q", "predicted_label": "a"}, "request_id"),
        ({"request_id": "r" * 201, "input_text": "q", "predicted_label": "a"}, "request_id"),
    ],
)  # fmt: skip
def test_a_prediction_failing_the_callers_checks_is_not_queued_and_never_raises(
    stub, make_client, caplog, fields, message
):
    client = make_client(stub.url)
    fields = {"model_version": "v1", **fields}

    with caplog.at_level(logging.WARNING, logger="voc_triage_client"):
        assert client.log_prediction(**fields) is False

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and message in warnings[0].getMessage()
    assert client.stats()["rejected"] == 1
    assert client.stats()["queued"] == 0
    assert client.flush(2) is True
    assert stub.requests == []


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"scores": {"a": float("inf")}}, "finite"),
        ({"scores": {"a": "high"}}, "number"),
        ({"metadata": {"x": object()}}, "JSON"),
        ({"metadata": ["x"]}, "metadata"),
        ({"input_data": "q"}, "input_data"),
        ({"input_text": 42}, "input_text"),
        ({"served_at": 12}, "served_at"),
        ({"request_id": "   "}, "request_id"),
    ],
)
def test_a_prediction_failing_the_senders_checks_is_counted_logged_and_the_rest_delivered(
    stub, make_client, caplog, fields, message
):
    """What costs more to check is checked on the sender thread: queued, then refused there,
    one warning naming the field, and the records beside it delivered."""
    client = make_client(stub.url, model_version="v1")

    with caplog.at_level(logging.WARNING, logger="voc_triage_client"):
        record = {"request_id": "bad", **PREDICTION, **fields}
        assert client.log_prediction(**record) is True
        log(client, 3)
        assert client.flush(5) is True

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and message in warnings[0], warnings
    assert client.stats() | {"queued": None} == {
        "queued": None, "sent": 3, "duplicates": 0, "rejected": 1, "retried": 0,
        "dropped": 0, "spooled": 0,
    }  # fmt: skip
    assert client.stats()["queued"] == 0
    assert [item["request_id"] for item in stub.items("predictions")] == ["r0", "r1", "r2"]


def test_changing_a_logged_dict_afterwards_changes_nothing_sent(stub, make_client):
    client = make_client(stub.url, model_version="v1")
    metadata, scores = {"channel": "app"}, {"track_order": 0.6}
    client.log_prediction(request_id="r", metadata=metadata, scores=scores, **PREDICTION)
    metadata["channel"], scores["track_order"] = "web", 0.1

    assert client.flush(5) is True
    [item] = stub.items("predictions")
    assert item["metadata"] == {"channel": "app"}
    assert item["scores"] == {"track_order": 0.6}


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "praise", "text": "x"},
        {"kind": "complaint"},
        {"kind": "correction", "request_id": "r1"},
        {"kind": "correction", "corrected_label": "b"},
        {"kind": "rating", "request_id": "r1", "rating": 5},
        {"kind": "rating", "request_id": "r1", "rating": True},
    ],
)
def test_a_bad_feedback_item_is_rejected_locally(stub, make_client, fields):
    client = make_client(stub.url)

    assert client.log_feedback(**fields) is False
    assert client.stats()["rejected"] == 1


def test_records_are_sent_in_batches_predictions_before_feedback(stub, make_client):
    client = make_client(stub.url, model_version="v1", batch_size=1000, flush_interval=5.0)
    client.log_feedback(kind="correction", request_id="r0", corrected_label="refund")
    log(client, 2500, confidence=0.62, scores={"track_order": 0.62}, metadata={"channel": "app"})

    assert client.flush(5) is True

    paths = [path for path, _, _ in stub.requests]
    sizes = [len(items) for _, items, _ in stub.requests]
    # the first batch (1,000 records) holds the feedback: its predictions went first, and it
    # went alone; the later batches, predictions only, went two at a time (in any order)
    assert paths[:2] == ["/api/v1/projects/proj/predictions", "/api/v1/projects/proj/feedback"]
    assert sizes[:2] == [999, 1] and sorted(sizes[2:]) == [501, 1000]
    assert stub.requests[0][2]["Authorization"] == "Bearer key"
    assert stub.requests[0][2]["Content-Type"] == "application/json"
    first = stub.items("predictions")[0]
    assert first == {
        "request_id": "r0", "model_version": "v1", "predicted_label": "track_order",
        "input_text": "where is my parcel", "confidence": 0.62, "metadata": {"channel": "app"},
        "scores": {"track_order": 0.62},
    }  # fmt: skip
    feedback = stub.items("feedback")[0]
    assert feedback["external_id"].startswith("vc-")  # resent batches stay idempotent
    assert client.stats() == {
        "queued": 0, "sent": 2501, "duplicates": 0, "rejected": 0, "retried": 0,
        "dropped": 0, "spooled": 0,
    }  # fmt: skip


def test_a_record_waits_at_most_the_flush_interval(stub, make_client):
    client = make_client(stub.url, model_version="v1", flush_interval=0.2)
    log(client, 3)

    deadline = time.monotonic() + 3
    while not stub.requests and time.monotonic() < deadline:
        time.sleep(0.02)

    assert [len(items) for _, items, _ in stub.requests] == [3]


def test_the_callers_dict_is_copied_when_logged(stub, make_client):
    client = make_client(stub.url, model_version="v1")
    metadata = {"channel": "app"}
    client.log_prediction(request_id="r1", metadata=metadata, **PREDICTION)
    metadata["channel"] = "changed"

    assert client.flush(5)
    assert stub.items("predictions")[0]["metadata"] == {"channel": "app"}


def test_503_and_429_are_retried_honouring_retry_after(stub, make_client):
    stub.script = [(503, {"Retry-After": "0"}), (429, {"Retry-After": "1"})]
    client = make_client(stub.url, model_version="v1", backoff_base=5.0, backoff_max=5.0)
    log(client, 10)
    started = time.monotonic()

    assert client.flush(10) is True

    elapsed = time.monotonic() - started
    # Retry-After (0 then 1 second) replaced the 5-second backoff
    assert 0.9 <= elapsed < 4
    assert len(stub.requests) == 3
    assert client.stats()["retried"] == 2
    assert client.stats()["sent"] == 10


def test_a_client_error_rejects_the_batch_without_retrying(stub, make_client, caplog):
    stub.script = [(403, {})]
    client = make_client(stub.url, model_version="v1")
    log(client, 4)

    with caplog.at_level(logging.WARNING, logger="voc_triage_client"):
        assert client.flush(5) is True

    assert len(stub.requests) == 1
    assert client.stats()["rejected"] == 4
    assert client.stats()["retried"] == 0
    assert any("HTTP 403" in r.getMessage() for r in caplog.records)


def test_a_batch_too_large_for_the_server_is_split(stub, make_client):
    stub.max_items = 30
    client = make_client(stub.url, model_version="v1", batch_size=100, flush_interval=1.0)
    log(client, 100)

    assert client.flush(5) is True

    assert client.stats()["sent"] == 100
    assert sorted(item["request_id"] for item in stub.items("predictions")) == sorted(
        f"r{i}" for i in range(100)
    )


def test_an_unreachable_server_neither_blocks_nor_raises(closed_port_url, make_client):
    client = make_client(closed_port_url, model_version="v1")
    started = time.monotonic()
    for i in range(1000):
        client.log_prediction(request_id=f"r{i}", **PREDICTION)
        client.log_feedback(kind="complaint", text="slow")
    logging_took = time.monotonic() - started

    assert logging_took < 1.0
    assert client.flush(timeout=0.5) is False
    stats = client.stats()
    assert stats["queued"] == 2000
    assert stats["retried"] >= 1
    assert stats["sent"] == 0


def test_past_the_queue_bound_records_are_dropped_and_logged_once(
    closed_port_url, make_client, caplog
):
    client = make_client(closed_port_url, model_version="v1", max_queue=10, flush_interval=60)

    with caplog.at_level(logging.WARNING, logger="voc_triage_client"):
        queued = sum(client.log_prediction(request_id=f"r{i}", **PREDICTION) for i in range(25))

    assert queued == 10
    assert client.stats()["dropped"] == 15
    assert client.stats()["queued"] == 10
    drops = [r for r in caplog.records if "dropping" in r.getMessage()]
    assert len(drops) == 1


def test_feedback_link_raises_on_errors(stub, closed_port_url, make_client):
    with pytest.raises(VocConnectionError):
        make_client(closed_port_url).feedback_link("r1")
    # the stub answers GET with 501 (no do_GET)
    with pytest.raises(VocApiError) as error:
        make_client(stub.url).feedback_link("r1")
    assert error.value.status == 501


def test_from_env(monkeypatch):
    monkeypatch.setenv("VOC_BASE_URL", "http://voc.test/")
    monkeypatch.setenv("VOC_API_KEY", "secret")
    monkeypatch.setenv("VOC_PROJECT", "shop-intents")

    client = VocClient.from_env(max_queue=5)

    assert (client.base_url, client.api_key, client.project, client.max_queue) == (
        "http://voc.test", "secret", "shop-intents", 5,
    )  # fmt: skip
    client.close(timeout=0)
    monkeypatch.delenv("VOC_PROJECT")
    with pytest.raises(ValueError, match="VOC_PROJECT"):
        VocClient.from_env()


def test_a_dataframe_is_logged_row_by_row(stub, make_client):
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "request_id": ["a", "b", "c"],
            "input_text": ["q1", "q2", "q3"],
            "predicted_label": ["x", "y", "z"],
            "confidence": [0.5, np.nan, 2.0],  # missing, then out of range
            "served_at": pd.to_datetime(["2026-01-01T10:00:00Z"] * 3),
            "unrelated": [1, 2, 3],
        }
    )
    client = make_client(stub.url, model_version="v7")

    assert client.log_predictions_frame(frame) == 2
    assert client.flush(5)

    items = {item["request_id"]: item for item in stub.items("predictions")}
    assert set(items) == {"a", "b"}
    assert items["a"]["confidence"] == 0.5 and "confidence" not in items["b"]
    assert items["a"]["served_at"].startswith("2026-01-01T10:00:00")
    assert "unrelated" not in items["a"]
    assert client.stats()["rejected"] == 1


def test_a_forked_child_gets_a_fresh_queue_and_sender(stub, make_client):
    client = make_client(stub.url, model_version="v1", flush_interval=60)
    log(client, 5, prefix="parent-")  # waiting in the parent's queue

    pid = os.fork()
    if pid == 0:  # the child: exit status tells the parent what it saw
        try:
            fresh = client.stats()["queued"] == 0
            client.log_prediction(request_id="child-0", **PREDICTION)
            sent = client.flush(5) and client.stats()["sent"] == 1
            os._exit(0 if fresh and sent else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert client.flush(5)
    ids = sorted(item["request_id"] for item in stub.items("predictions"))
    assert ids == ["child-0"] + [f"parent-{i}" for i in range(5)]


def test_logging_from_many_threads_loses_and_doubles_nothing(stub, make_client):
    from concurrent.futures import ThreadPoolExecutor

    client = make_client(stub.url, model_version="v1", batch_size=300)

    def work(thread):
        for i in range(500):
            client.log_prediction(request_id=f"t{thread}-{i}", **PREDICTION)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))

    assert client.flush(10) is True
    ids = [item["request_id"] for item in stub.items("predictions")]
    assert len(ids) == 4000 and len(set(ids)) == 4000
    assert client.stats()["sent"] == 4000


def test_the_interpreters_exit_sends_what_is_queued(stub):
    import subprocess
    import sys

    code = (
        "from voc_triage_client import VocClient\n"
        f"c = VocClient({stub.url!r}, 'k', 'p', model_version='v1', flush_interval=60)\n"
        "for i in range(30):\n"
        "    c.log_prediction(request_id=f'exit-{i}', input_text='q', predicted_label='a')\n"
        # no flush, no close: atexit sends them
    )
    env = {**os.environ, "PYTHONPATH": package_path()}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)

    assert done.returncode == 0, done.stderr
    assert sorted(item["request_id"] for item in stub.items("predictions")) == sorted(
        f"exit-{i}" for i in range(30)
    )


def test_retry_delays_grow_with_jitter_up_to_the_cap_and_follow_retry_after():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    client = VocClient("http://voc.test", "k", "p", backoff_base=0.5, backoff_max=4.0)
    try:
        early = [client._backoff(0, None) for _ in range(200)]
        late = [client._backoff(10, None) for _ in range(200)]
        assert all(0 <= d <= 0.5 for d in early) and len(set(early)) > 100  # jittered
        assert all(0 <= d <= 4.0 for d in late) and max(late) > 2.0  # capped, still growing
        assert client._backoff(3, {"Retry-After": "7"}) == 7.0
        assert client._backoff(3, {"Retry-After": "100000"}) == client.retry_after_max
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
        assert 15 < client._backoff(0, {"Retry-After": when}) <= 20
        assert 0 <= client._backoff(0, {"Retry-After": "soon"}) <= 0.5
    finally:
        client.close(timeout=0)


def test_flush_ends_a_backoff_wait_once_the_server_is_back(stub, closed_port_url, make_client):
    client = make_client(closed_port_url, model_version="v1", backoff_base=30.0, backoff_max=30.0)
    log(client, 5)
    assert client.flush(timeout=0.5) is False  # down: the sender is now in a long backoff
    client.base_url = stub.url  # back (as a restarted server would be)
    started = time.monotonic()

    assert client.flush(timeout=10) is True

    assert time.monotonic() - started < 5, "flush did not wait out a 30-second backoff"
    assert client.stats()["sent"] == 5


def test_records_serialised_ahead_keep_their_order_and_a_bad_one_is_taken_out(
    stub, make_client, caplog
):
    """What the sender serialises while a request is in flight (or a retry waits) stays in
    place in the queue; a record that fails there is counted and removed, once."""
    client = make_client(stub.url, model_version="v1", flush_interval=3600, batch_size=1000)
    log(client, 2, prefix="a")
    client.log_prediction(request_id="bad", metadata={"x": object()}, **PREDICTION)
    log(client, 2, prefix="b")

    with caplog.at_level(logging.WARNING, logger="voc_triage_client"):
        assert client._serialise_ahead() is True
        assert client._serialise_ahead() is False  # nothing left to do

    assert [type(record[3]) for record in client._queue] == [str] * 4
    assert client.stats()["rejected"] == 1
    assert client.flush(5) is True
    assert [item["request_id"] for item in stub.items("predictions")] == ["a0", "a1", "b0", "b1"]
    assert sum("bad" in r.getMessage() for r in caplog.records) == 1


def test_batches_of_predictions_go_two_at_a_time_and_feedback_waits_for_them(stub, make_client):
    stub.delay = 0.3
    client = make_client(stub.url, model_version="v1", batch_size=1000, flush_interval=0.05)
    log(client, 4000)
    assert client.flush(10) is True
    assert stub.max_in_flight == 2

    stub.max_in_flight = 0
    log(client, 1000, prefix="late")
    time.sleep(0.1)  # its batch is in flight
    client.log_feedback(kind="correction", request_id="late0", corrected_label="refund")
    assert client.flush(10) is True

    # The correction was sent after the batch holding its prediction was answered.
    paths = [path for path, _, _ in stub.requests]
    assert paths[-1].endswith("/feedback") and stub.max_in_flight == 1
    assert len({item["request_id"] for item in stub.items("predictions")}) == 5000
    assert client.stats()["sent"] == 5001 and client.stats()["queued"] == 0
