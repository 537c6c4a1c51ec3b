"""How long a new feedback item waits for its placement while long jobs run: one pool of
worker processes taking both queues (as when everything shared one queue) against a worker
for each queue, with the same number of processes, in the same run.

    python benchmarks/queues.py --items 100000

Two projects are served the Banking77 replay until they hold `--items` error items between
them (LSA representation, so no embedding model is needed). For each setup, on real Redis and
PostgreSQL: both projects' clustering runs are requested at once (as the Monday schedule
does), and once one has started, a new complaint is ingested into the first project every
second for `--probes` seconds; each one's delay is the time from its ingest to its assignment
row (`triage.feedback_process`, the follow-up every ingest publishes).

- one pool: `celery worker -Q quick,heavy --concurrency 2`
- a worker per queue: `celery worker -Q quick --concurrency 1` and `-Q heavy --concurrency 1`
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, django_setup, fresh_database, machine, report  # noqa: E402

SETUPS = {
    "one pool for both queues": [("quick,heavy", 2)],
    "a worker per queue": [("quick", 1), ("heavy", 1)],
}


def start_workers(setup: list[tuple[str, int]], folder: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false"}
    workers, logs = [], []
    for n, (queues, concurrency) in enumerate(setup):
        log = folder / f"worker-{n}.log"
        logs.append(log)
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues,
             "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip",
             "--without-mingle", "-n", f"bench-{n}-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        ))  # fmt: skip
    deadline = time.monotonic() + 90
    while not all(b"ready." in log.read_bytes() for log in logs):
        if time.monotonic() > deadline:
            raise RuntimeError("a worker did not start")
        time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:  # the run may still be going: no need to wait for it
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)


def measure(projects, setup: list[tuple[str, int]], probes: int, folder: Path) -> dict:
    from feedback.ingest import feedback_ingest
    from triage.models import ClusteringRun, ItemAssignment
    from triage.services.clustering import clustering_run_request

    ClusteringRun.objects.filter(project__in=projects).delete()
    workers = start_workers(setup, folder)
    try:
        runs = [clustering_run_request(project=project)[0] for project in projects]
        deadline = time.monotonic() + 300
        while not ClusteringRun.objects.filter(id__in=[r.id for r in runs], status="running"):
            if time.monotonic() > deadline:
                raise RuntimeError("no clustering run started")
            time.sleep(0.1)
        sent: dict[int, float] = {}
        delays: list[float] = []

        def look(until: float) -> None:
            """Record the probes placed meanwhile, polling every 50 ms until `until`."""
            while True:
                placed = ItemAssignment.objects.filter(feedback_id__in=list(sent))
                for feedback_id in placed.values_list("feedback_id", flat=True):
                    delays.append(time.monotonic() - sent.pop(feedback_id))
                if time.monotonic() >= until:
                    return
                time.sleep(0.05)

        started = time.monotonic()
        for n in range(probes):
            item = {"kind": "complaint", "text": f"my card payment was declined again ({n})"}
            (feedback_id,) = feedback_ingest(project=projects[0], items=[item]).inserted[0]
            sent[feedback_id] = time.monotonic()
            look(until=started + n + 1)
        deadline = time.monotonic() + 900
        while sent and time.monotonic() < deadline:
            look(until=time.monotonic() + 1)
        ordered = sorted(delays)
        return {
            "workers": [f"-Q {queues} --concurrency {n}" for queues, n in setup],
            "probes_placed": f"{len(delays)} of {probes}",
            "placement_delay_p50_s": round(ordered[len(ordered) // 2], 2) if ordered else None,
            "placement_delay_max_s": round(ordered[-1], 2) if ordered else None,
            "clustering_runs_at_end": [
                f"{status}, {n_items} items"
                for status, n_items in ClusteringRun.objects.filter(
                    id__in=[r.id for r in runs]
                ).values_list("status", "n_items")
            ],
        }
    finally:
        stop_workers(workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="error items clustered")
    parser.add_argument("--probes", type=int, default=20, help="new items, one a second")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    if not os.environ.get("REDIS_URL"):
        sys.exit("The queues benchmark runs on Redis: use `make bench` or set REDIS_URL.")
    # A Redis database of its own: no other worker on the same server takes these tasks.
    os.environ["REDIS_URL"] = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/8"))
    folder = Path(tempfile.mkdtemp(prefix="voc-bench-queues-"))
    os.environ["VOC_DATA_DIR"] = str(folder)
    django_setup(fresh_database("voc_bench_queues"))
    import redis
    from django.conf import settings

    from benchmarks.clustering import load
    from feedback.models import Feedback
    from feedback.replay import build_replay
    from triage.models import ClusteringSettings

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    loading = time.perf_counter()
    ingested_tasks, settings.VOC_FEEDBACK_INGESTED_TASKS = settings.VOC_FEEDBACK_INGESTED_TASKS, []
    projects = []
    for n in (1, 2):
        replay = build_replay(seed=n, repeat=max(1, round(args.items / 2 / 1030)))
        projects.append(load(replay, f"bench-queues-{n}"))
        ClusteringSettings.objects.create(project=projects[-1], representation="lsa")
    settings.VOC_FEEDBACK_INGESTED_TASKS = ingested_tasks
    figures: dict = {
        "feedback_items": Feedback.objects.filter(project__in=projects).count(),
        "load_seconds": round(time.perf_counter() - loading, 1),
    }
    for name, setup in SETUPS.items():
        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
        figures[name] = measure(projects, setup, args.probes, folder)
    one, two = figures["one pool for both queues"], figures["a worker per queue"]
    if one["placement_delay_p50_s"] and two["placement_delay_p50_s"]:
        figures["p50_delay_one_pool_over_per_queue"] = round(
            one["placement_delay_p50_s"] / two["placement_delay_p50_s"], 1
        )
    figures["machine"] = machine()
    report(figures, args.json)


if __name__ == "__main__":
    main()
