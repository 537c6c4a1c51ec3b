"""The client's on-disk spool: records past the queue bound or through a long outage, kept
in order, bounded, and sent by a later client (against a stub HTTP server)."""

import os
import signal
import subprocess
import sys
import time

import pytest
from voc_triage_client import VocClient

from tests.client.helpers import PREDICTION, log, package_path


def test_past_the_queue_bound_records_go_to_the_spool_in_order(stub, make_client, tmp_path):
    spool = tmp_path / "spool.sqlite3"
    client = make_client(
        stub.url, model_version="v1", max_queue=5, flush_interval=60, spool_path=spool
    )
    log(client, 20)

    assert client.stats()["spooled"] == 15
    assert client.stats()["dropped"] == 0
    assert client.flush(5) is True

    assert [item["request_id"] for item in stub.items("predictions")] == [
        f"r{i}" for i in range(20)
    ]
    assert client.stats()["spooled"] == 0
    assert client.stats()["sent"] == 20


def test_the_spool_is_bounded(closed_port_url, make_client, tmp_path):
    client = make_client(
        closed_port_url, model_version="v1", max_queue=2, flush_interval=60,
        spool_path=tmp_path / "s.sqlite3", spool_max_records=3,
    )  # fmt: skip
    accepted = sum(client.log_prediction(request_id=f"r{i}", **PREDICTION) for i in range(10))
    stats = client.stats()

    # 2 fit in memory and 3 on disk; the sender, woken by the spool, may meanwhile take
    # records out to try them (freeing places), so the exact split varies, but never the sum.
    assert stats["spooled"] <= 3
    assert stats["dropped"] >= 3
    assert accepted + stats["dropped"] >= 10
    assert stats["queued"] + stats["spooled"] + stats["dropped"] == 10  # none vanished


def test_a_long_outage_moves_records_to_the_spool_and_a_new_client_sends_them(
    stub, closed_port_url, make_client, tmp_path
):
    spool = tmp_path / "spool.sqlite3"
    down = make_client(closed_port_url, model_version="v1", spool_path=spool, spool_after=0.2)
    log(down, 50)
    down.log_feedback(kind="complaint", text="late", external_id="fb-1")

    assert down.flush(timeout=1.0) is False
    assert down.stats()["spooled"] == 51  # moved to disk after spool_after
    down.close(timeout=0)

    up = make_client(stub.url, spool_path=spool)
    assert up.stats()["spooled"] == 51
    assert up.flush(5) is True

    assert sorted(item["request_id"] for item in stub.items("predictions")) == sorted(
        f"r{i}" for i in range(50)
    )
    assert [item["external_id"] for item in stub.items("feedback")] == ["fb-1"]
    assert up.stats()["spooled"] == 0
    assert up.stats()["sent"] == 51


def test_closing_without_a_spool_counts_undelivered_records_as_dropped(closed_port_url):
    client = VocClient(
        closed_port_url, "k", "p", model_version="v1", backoff_base=0.01, backoff_max=0.02
    )
    for i in range(7):
        client.log_prediction(request_id=f"r{i}", **PREDICTION)

    started = time.monotonic()
    client.close(timeout=0.3)

    assert time.monotonic() - started < 3
    assert client.stats()["dropped"] == 7
    assert client.stats()["queued"] == 0
    assert client.log_prediction(request_id="late", **PREDICTION) is False


def test_records_logged_during_an_outage_follow_the_spooled_ones_in_order(
    stub, closed_port_url, make_client, tmp_path
):
    client = make_client(
        closed_port_url, model_version="v1", spool_path=tmp_path / "s.sqlite3", spool_after=0.1
    )
    log(client, 20, prefix="a")
    deadline = time.monotonic() + 5
    while client.stats()["spooled"] < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.stats()["spooled"] == 20

    # The spool is in use: these are written to the journal as they are logged, then moved
    # into the spool behind the first ones within a fraction of a second.
    log(client, 20, prefix="b")
    assert client.stats()["spooled"] + client.stats()["queued"] == 40
    deadline = time.monotonic() + 2
    while client.stats()["spooled"] < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.stats() | {"retried": 0} == {
        "queued": 0, "sent": 0, "duplicates": 0, "rejected": 0, "retried": 0,
        "dropped": 0, "spooled": 40,
    }  # fmt: skip
    client.base_url = stub.url
    assert client.flush(5) is True

    expected = [f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)]
    assert [item["request_id"] for item in stub.items("predictions")] == expected
    assert client.stats()["spooled"] == 0
    # once the spool is empty, records go through memory again
    log(client, 3, prefix="c")
    assert client.stats()["spooled"] == 0
    assert client.flush(5) is True


HOST = """
import signal, sys, time
from voc_triage_client import VocClient
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as servers do
client = VocClient(sys.argv[1], "key", "proj", model_version="v1", spool_path=sys.argv[2],
                   spool_after=0.1, backoff_base=0.05, backoff_max=0.1, flush_interval=0.1)
for i in range(300):
    client.log_prediction(request_id=f"r{i}", input_text="q", predicted_label="a")
    time.sleep(0.002)
while client.stats()["spooled"] < 300:  # the outage has been noticed: the spool is in use
    time.sleep(0.01)
print("spooling", flush=True)
for i in range(300, 600):
    client.log_prediction(request_id=f"r{i}", input_text="q", predicted_label="a")
    time.sleep(0.001)
print("logged", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL])
def test_a_host_killed_during_an_outage_loses_nothing_spooled_and_a_restart_sends_it(
    stub, closed_port_url, make_client, tmp_path, kill
):
    """Killed the moment its last record is logged, with the spool in use. SIGTERM: the exit
    hook moves what is in memory to the spool. SIGKILL: nothing runs, so every record logged
    must already be on disk (the journal, written before log_prediction returns)."""
    spool = tmp_path / "spool.sqlite3"
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, closed_port_url, str(spool)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": package_path()},
    )  # fmt: skip
    try:
        assert host.stdout.readline().strip() == "spooling"
        assert host.stdout.readline().strip() == "logged"
        host.send_signal(kill)
        host.wait(timeout=30)
    finally:
        host.kill()

    restarted = make_client(stub.url, model_version="v1", spool_path=spool)
    assert restarted.flush(10) is True
    assert sorted(item["request_id"] for item in stub.items("predictions")) == sorted(
        f"r{i}" for i in range(600)
    )
    assert restarted.stats()["spooled"] == 0
    assert not list(tmp_path.glob("spool.sqlite3.pending.*"))  # the journals were imported


def test_records_go_to_the_spool_spool_after_seconds_into_an_outage_not_at_the_next_retry(
    closed_port_url, make_client, tmp_path
):
    client = make_client(
        closed_port_url, model_version="v1", spool_path=tmp_path / "s.sqlite3",
        spool_after=0.3, backoff_base=20.0, backoff_max=60.0, flush_interval=0.05,
    )  # fmt: skip
    log(client, 10)
    started = time.monotonic()
    while client.stats()["spooled"] < 10 and time.monotonic() - started < 5:
        time.sleep(0.02)

    assert client.stats()["spooled"] == 10
    assert time.monotonic() - started < 2  # a retry delay drawn up to 20 s did not hold it
