"""The client through a server outage (benchmarks/client.py runs these): a thread of this
process logging at a steady pace, and a host process with a spool killed mid-outage."""

import gc
import json
import mmap
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.client_server import make_items, percentiles, stored
from benchmarks.common import ROOT, peak_rss_mb


def reset_peak_rss() -> bool:
    """Set this process's VmHWM to its current RSS (Linux 4.0+), so the outage's peak is its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_outage(server, slug: str, key: str, rate: int, before: float, outage: float, after: float):
    """A thread logs `rate` predictions/s (each also `queue.Queue().put`, timed apart: the
    baseline at the same pace); the server stops for `outage` seconds, then starts again
    (the outage phase lasts until /healthz answers 200); `after` seconds later the thread
    stops and the client flushes."""
    from voc_triage_client import VocClient

    client = VocClient(server.url, key, slug)
    items = make_items(int(rate * (before + outage + after + 120)), "outage")
    logged = [0]
    samples: dict[str, list[int]] = {"before": [], "outage": [], "after": []}
    put_samples: dict[str, list[int]] = {"before": [], "outage": [], "after": []}
    plain: queue.Queue = queue.Queue()  # the baseline: the same dicts, the same pace
    phase = ["before"]
    max_queued = [0]
    done = threading.Event()

    def logger():
        clock = time.perf_counter_ns
        t0 = time.monotonic()
        for i, item in enumerate(items):
            if done.is_set():
                break
            wait = t0 + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            start = clock()
            plain.put(item)
            middle = clock()
            client.log_prediction(**item)
            end = clock()
            put_samples[phase[0]].append(middle - start)
            samples[phase[0]].append(end - middle)
            logged[0] = i + 1
            if i % 100 == 0:
                max_queued[0] = max(max_queued[0], client.stats()["queued"])

    gc.collect()
    rss_start = current_rss_mb()
    rss_reset = reset_peak_rss()
    thread = threading.Thread(target=logger)
    thread.start()
    time.sleep(before)
    phase[0] = "outage"
    server.stop()
    time.sleep(outage)
    restart_s = server.start()
    restarted = time.monotonic()
    phase[0] = "after"
    time.sleep(after)
    done.set()
    thread.join()
    flush_started = time.monotonic()
    delivered = client.flush(timeout=120)
    flush_s = time.monotonic() - flush_started
    drained_s = time.monotonic() - restarted
    total = logged[0]
    peak = peak_rss_mb()
    stats = client.stats()
    client.close()
    count, distinct = stored(slug)
    figures = {
        "rate_per_s": rate,
        "seconds_before_outage_after": [before, outage, after],
        "server_restart_s": round(restart_s, 1),
        "server_down_s": round(outage + restart_s, 1),
        "logged": total,
        "stored": count,
        "stored_distinct_request_ids": distinct,
        "all_present": count == distinct == total,
        "flushed": delivered,
        "flush_s": round(flush_s, 1),
        "seconds_from_restart_to_flushed": round(drained_s, 1),
        "max_queued_seen": max_queued[0],
        "rss_mb_at_start": round(rss_start, 1),
        "peak_rss_mb_during": round(peak, 1) if rss_reset else None,
        "peak_rss_mb_process": round(peak, 1),
        "client_stats": stats,
    }
    for name, values in samples.items():
        figures[f"log_prediction_{name}"] = percentiles(values) if values else None
        figures[f"queue_put_{name}"] = percentiles(put_samples[name]) if values else None
    if samples["before"] and samples["outage"]:
        figures["p99_outage_over_before"] = round(
            figures["log_prediction_outage"]["p99_us"] / figures["log_prediction_before"]["p99_us"],
            2,
        )
    return figures


def run_host_killed(
    server, slug: str, key: str, rate: int, outage: float, kill: signal.Signals
) -> dict:
    """With a spool: host 1 (benchmarks/client_host.py) logs `rate` predictions/s; 5 s later
    the server stops; a third of the outage in, host 1 gets `kill`; host 2 starts on the same
    spool file and logs on until 5 s after the server is back, then flushes. Every record
    either host queued must be stored exactly once."""
    with tempfile.TemporaryDirectory(prefix="voc-host-") as folder:
        folder = Path(folder)
        spool = folder / "spool.sqlite3"
        tag = kill.name.lower()
        hosts = []
        for n in (1, 2):
            items = make_items(int(rate * (outage + 70)), f"{tag}-host{n}")
            (folder / f"items{n}.json").write_text(json.dumps(items))
            (folder / f"logged{n}.bin").write_bytes(bytes(8))
            hosts.append([item["request_id"] for item in items])

        def host(n: int, seconds: float | None = None) -> subprocess.Popen:
            command = [
                sys.executable, str(ROOT / "benchmarks" / "client_host.py"), server.url, key,
                slug, "--items", str(folder / f"items{n}.json"), "--spool", str(spool),
                "--counter", str(folder / f"logged{n}.bin"), "--rate", str(rate),
            ]  # fmt: skip
            if seconds is not None:
                command += ["--seconds", str(seconds)]
            return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

        def logged(n: int) -> int:
            with open(folder / f"logged{n}.bin", "r+b") as file, mmap.mmap(file.fileno(), 8) as m:
                return struct.unpack("<q", m[:8])[0]

        first = host(1)
        time.sleep(5)
        server.stop()
        down = time.monotonic()
        time.sleep(outage / 3)
        first.send_signal(kill)
        first.wait(timeout=60)
        exit_s = round(time.monotonic() - down - outage / 3, 1)
        spooled_at_kill = _spool_rows(spool)
        second = host(2, seconds=outage * 2 / 3 + 10)
        time.sleep(max(0.0, outage - (time.monotonic() - down)))
        restart_s = server.start()
        out, _ = second.communicate(timeout=300)
        second_stats = json.loads(out.strip().splitlines()[-1])
        spooled_left = _spool_rows(spool)
        queued = {n: logged(n) for n in (1, 2)}

    stored_ids = _stored_request_ids(slug)
    figures = {
        "signal": kill.name,
        "rate_per_s": rate,
        "server_down_s": round(outage + restart_s, 1),
        "host1_exit_s": exit_s,
        "spool_rows_when_host1_ended": spooled_at_kill,
        "spool_rows_left": spooled_left,
        "host2_stats": second_stats,
        "stored_not_queued": len(stored_ids - set(hosts[0]) - set(hosts[1])),
    }
    for n in (1, 2):
        wanted = hosts[n - 1][: queued[n]]
        present = sum(request_id in stored_ids for request_id in wanted)
        figures[f"host{n}_queued"] = queued[n]
        figures[f"host{n}_present"] = present
        if n == 1:  # at most one record past the counter: killed between queueing and counting
            figures["host1_stored_past_counter"] = sum(
                request_id in stored_ids for request_id in hosts[0][queued[1] :]
            )
    count, distinct = stored(slug)
    figures["stored_rows"], figures["stored_distinct"] = count, distinct
    figures["all_present_once"] = (
        figures["host1_present"] == queued[1]
        and figures["host2_present"] == queued[2]
        and count == distinct
    )
    return figures


def _spool_rows(path: Path) -> int | None:
    import contextlib
    import sqlite3

    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT count(*) FROM records").fetchone()[0]


def _stored_request_ids(slug: str) -> set[str]:
    from feedback.models import Prediction

    return set(Prediction.objects.filter(project__slug=slug).values_list("request_id", flat=True))
