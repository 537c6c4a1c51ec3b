"""The Python client (clients/python) against the live app on PostgreSQL: the time `log_*`
costs its caller, throughput end to end, and an outage, each against a baseline in the run.

    make bench                 # all benchmarks
    python benchmarks/client.py --rows 50000 --calls 50000 --outage 20

The app is served by gunicorn (2 sync workers) on the same machine, on a fresh database.
Host overhead: each `client.log_prediction(**item)` call timed on the caller's thread
(perf_counter_ns), against `queue.Queue().put(item)` of the same dicts; then again while a
second thread logs (or puts) at full speed, and once with nothing sent while timing.
Throughput: `--rows` predictions logged, then `flush()`, against the same rows posted as
1,000-item JSON batches by a plain urllib loop on one thread (encoding included). Outage: a thread logs 1,000 predictions/s; the server is
stopped for `--outage` seconds and started again; then `flush()`.
"""

import argparse
import gc
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    ROOT,
    django_setup,
    free_port,
    fresh_database,
    machine,
    peak_rss_mb,
    report,
)


class LiveServer:
    """gunicorn serving the app on a fixed port, which can be stopped and started again."""

    def __init__(self, database_url: str, workers: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start gunicorn and wait until /healthz answers 200; returns the seconds it took."""
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--log-level", "warning"],
            cwd=ROOT, env=self.env,
        )  # fmt: skip
        deadline = started + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the app did not answer /healthz with 200")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None


def make_items(n: int, prefix: str) -> list[dict]:
    """`n` Banking77 replay predictions (text, top-5 scores, metadata, customer reference) as
    `log_prediction`'s keyword arguments, with request ids of their own."""
    items = []
    for i in range(n):
        item = dict(REPLAY[i % len(REPLAY)])
        item["request_id"] = f"{prefix}-{i:08d}"
        items.append(item)
    return items


REPLAY: list[dict] = []


def percentiles(samples_ns: list[int]) -> dict:
    ordered = sorted(samples_ns)
    n = len(ordered)

    def at(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))] / 1000, 2)

    return {"p50_us": at(0.50), "p99_us": at(0.99), "p999_us": at(0.999), "calls": n}


def time_calls(call, items: list[dict]) -> list[int]:
    clock = time.perf_counter_ns
    samples = [0] * len(items)
    for i, item in enumerate(items):
        start = clock()
        call(item)
        samples[i] = clock() - start
    return samples


def run_overhead(server, slug: str, key: str, calls: int) -> dict:
    """p50/p99 of log_prediction on the caller's thread against queue.Queue().put: alone,
    while a second thread does the same at full speed, and alone with the sender held back
    (nothing sent while timing, so the server and PostgreSQL leave the 2 CPUs alone)."""
    from voc_triage_client import VocClient

    figures = {}
    for label in ("alone", "with_second_thread", "sender_idle"):
        contended = label == "with_second_thread"
        prefix = f"oh-{label}"
        client = VocClient(server.url, key, slug, max_queue=4 * calls)
        if label == "sender_idle":  # no batch is due before the flush below
            client.batch_size, client.flush_interval = 10 * calls, 3600.0
        items = make_items(calls, prefix)
        other_items = make_items(2 * calls, prefix + "-b")
        warm_items = make_items(1000, prefix + "-warm")
        plain: queue.Queue = queue.Queue()

        def log(item, client=client):
            client.log_prediction(**item)

        for name, call in (("queue_put", plain.put), ("log_prediction", log)):
            stop = threading.Event()
            other = None
            if contended:

                def background(call=call, stop=stop, other_items=other_items):
                    for item in other_items:
                        if stop.is_set():
                            return
                        call(item)

                other = threading.Thread(target=background)
                other.start()
            for item in warm_items:  # warm-up (the sender thread starts, caches)
                call(item)
            samples = time_calls(call, items)
            stop.set()
            if other is not None:
                other.join()
            figures[f"{name}_{label}"] = percentiles(samples)
        client.batch_size, client.flush_interval = 1000, 1.0
        delivered = client.flush(timeout=120)
        figures[f"client_{label}_stats"] = {**client.stats(), "flushed": delivered}
        client.close()
        for name in ("p50_us", "p99_us"):
            figures[f"ratio_{name[:3]}_{label}"] = round(
                figures[f"log_prediction_{label}"][name] / figures[f"queue_put_{label}"][name], 1
            )
    return figures


def stored(slug: str) -> tuple[int, int]:
    from feedback.models import Prediction

    rows = Prediction.objects.filter(project__slug=slug)
    return rows.count(), rows.values("request_id").distinct().count()


def run_raw(server, slug: str, key: str, items: list[dict], batch: int) -> float:
    """The baseline: a hand-written loop posting 1,000-item JSON batches with urllib."""
    url = f"{server.url}/api/v1/projects/{slug}/predictions"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    accepted = 0
    start = time.perf_counter()
    for i in range(0, len(items), batch):
        body = json.dumps({"predictions": items[i : i + batch]}).encode()
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            accepted += json.loads(response.read())["accepted"]
    elapsed = time.perf_counter() - start
    assert accepted == len(items), (accepted, len(items))
    return elapsed


def run_client(server, slug: str, key: str, items: list[dict]) -> tuple[float, float, dict]:
    """Log every row, then flush: (seconds in total, seconds logging, stats)."""
    from voc_triage_client import VocClient

    client = VocClient(server.url, key, slug, max_queue=max(100_000, len(items)))
    start = time.perf_counter()
    for item in items:
        client.log_prediction(**item)
    logged = time.perf_counter() - start
    sent_while_logging = client.stats()["sent"]
    delivered = client.flush(timeout=600)
    elapsed = time.perf_counter() - start
    stats = {**client.stats(), "sent_while_logging": sent_while_logging, "flushed": delivered}
    client.close()
    return elapsed, logged, stats


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the throughput")
    parser.add_argument("--calls", type=int, default=50_000, help="timed calls per overhead run")
    parser.add_argument("--batch", type=int, default=1000, help="the raw loop's batch size")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--outage", type=float, default=15.0, help="seconds; 0 to skip")
    parser.add_argument("--rate", type=int, default=1000, help="predictions/s in the outage")
    parser.add_argument(
        "--switch-interval", type=float, help="sys.setswitchinterval, seconds (default 0.005)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    database_url = fresh_database("voc_bench_client")
    django_setup(database_url)
    from feedback.replay import build_replay
    from feedback.services import api_key_create, project_create

    REPLAY.extend(build_replay(seed=0).predictions)
    keys = {}
    for slug in ("bench-overhead", "bench-raw", "bench-client", "bench-outage"):
        project = project_create(slug=slug, name=slug)
        keys[slug] = api_key_create(project=project, scopes=["ingest"])[1]

    server = LiveServer(database_url, workers=args.workers)
    figures: dict = {
        "rows": args.rows,
        "calls": args.calls,
        "gunicorn_workers": args.workers,
        "switch_interval_s": sys.getswitchinterval(),
    }
    try:
        figures["server_start_s"] = round(server.start(), 1)
        figures["overhead"] = run_overhead(
            server, "bench-overhead", keys["bench-overhead"], args.calls
        )

        raw_items = make_items(args.rows, "raw")
        client_items = make_items(args.rows, "client")
        raw_s = run_raw(server, "bench-raw", keys["bench-raw"], raw_items, args.batch)
        raw_count = stored("bench-raw")
        client_s, logged_s, client_stats = run_client(
            server, "bench-client", keys["bench-client"], client_items
        )
        client_count = stored("bench-client")
        figures["throughput"] = {
            "raw_urllib_rows_per_s": round(args.rows / raw_s),
            "client_rows_per_s": round(args.rows / client_s),
            "client_to_raw_ratio": round(raw_s / client_s, 2),
            "client_seconds_logging": round(logged_s, 2),
            "client_seconds_total": round(client_s, 2),
            "raw_stored_distinct": list(raw_count),
            "client_stored_distinct": list(client_count),
            "exactly_n": raw_count == client_count == (args.rows, args.rows),
            "client_stats": client_stats,
        }
        del raw_items, client_items
        if args.outage > 0:
            figures["outage"] = run_outage(
                server, "bench-outage", keys["bench-outage"], args.rate, 5.0, args.outage, 5.0
            )
    finally:
        server.stop()
    figures["machine"] = machine()
    report(figures, args.json)


if __name__ == "__main__":
    main()
