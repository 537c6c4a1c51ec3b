"""The Python client (clients/python) against the live app on PostgreSQL: the time `log_*`
costs its caller, throughput end to end, and an outage, each against a baseline in the run.

    make bench                 # all benchmarks
    python benchmarks/client.py --rows 50000 --calls 50000 --outage 30

The app is served by gunicorn (2 sync workers) on the same machine, on a fresh database.
Host overhead: each `client.log_prediction(**item)` call timed on the caller's thread
(perf_counter_ns), against `queue.Queue().put(item)` of the same dicts; then again while a
second thread logs (or puts) at full speed, and once with nothing sent while timing.
Throughput, in `--rounds` interleaved rounds: `--rows`/rounds predictions logged, then `flush()`,
against the same number of rows posted as
1,000-item JSON batches by a plain urllib loop on one thread (encoding included).
Outage (benchmarks/client_outage.py): a thread logs 1,000 predictions/s; the server is stopped
for `--outage` seconds and started again; then `flush()`. Then twice with a spool and a host
process (benchmarks/client_host.py) killed a third of the way into the outage, by SIGTERM and
by SIGKILL, and a new one started on the same spool file.
"""

import argparse
import json
import queue
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.client_outage import run_host_killed, run_outage  # noqa: E402
from benchmarks.client_server import (  # noqa: E402
    REPLAY,
    LiveServer,
    make_items,
    percentiles,
    stored,
)
from benchmarks.common import django_setup, fresh_database, machine, report  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the throughput")
    parser.add_argument("--calls", type=int, default=50_000, help="timed calls per overhead run")
    parser.add_argument("--batch", type=int, default=1000, help="the raw loop's batch size")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved throughput rounds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds; 0 to skip")
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
    slugs = ["bench-overhead", "bench-raw", "bench-client", "bench-outage"]
    for slug in [*slugs, "bench-host-sigterm", "bench-host-sigkill"]:
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

        # Interleaved rounds (raw, client, raw, client...): a machine whose load drifts
        # during the run weighs on both sides alike.
        raw_s = client_s = logged_s = 0.0
        rounds = []
        per_round = args.rows // args.rounds
        for n in range(args.rounds):
            raw_items = make_items(per_round, f"raw{n}")
            client_items = make_items(per_round, f"client{n}")
            raw_round = run_raw(server, "bench-raw", keys["bench-raw"], raw_items, args.batch)
            client_round, logged_round, client_stats = run_client(
                server, "bench-client", keys["bench-client"], client_items
            )
            raw_s, client_s, logged_s = raw_s + raw_round, client_s + client_round, logged_s + logged_round  # fmt: skip
            rounds.append(round(raw_round / client_round, 2))
        rows = per_round * args.rounds
        raw_count, client_count = stored("bench-raw"), stored("bench-client")
        figures["throughput"] = {
            "rounds": args.rounds,
            "raw_urllib_rows_per_s": round(rows / raw_s),
            "client_rows_per_s": round(rows / client_s),
            "client_to_raw_ratio": round(raw_s / client_s, 2),
            "ratio_per_round": rounds,
            "client_seconds_logging": round(logged_s, 2),
            "client_seconds_total": round(client_s, 2),
            "raw_stored_distinct": list(raw_count),
            "client_stored_distinct": list(client_count),
            "exactly_n": raw_count == client_count == (rows, rows),
            "client_stats_last_round": client_stats,
        }
        del raw_items, client_items
        if args.outage > 0:
            figures["outage"] = run_outage(
                server, "bench-outage", keys["bench-outage"], args.rate, 5.0, args.outage, 5.0
            )
            figures["host_killed"] = [
                run_host_killed(
                    server,
                    f"bench-host-{kill.name.lower()}",
                    keys[f"bench-host-{kill.name.lower()}"],
                    args.rate,
                    args.outage,
                    kill,
                )
                for kill in (signal.SIGTERM, signal.SIGKILL)
            ]
    finally:
        server.stop()
    figures["machine"] = machine()
    report(figures, args.json)


if __name__ == "__main__":
    main()
