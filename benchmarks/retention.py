"""Retention of the prediction log on PostgreSQL: how fast the sweep deletes, against how fast
the API ingests in the same run, and what a sweep does to ingest latency.

    make bench                 # all benchmarks
    python benchmarks/retention.py --rows 200000

Two cohorts of `--rows` Banking77 replay predictions are posted through the API (gunicorn, 2
workers, 1,000-item batches over 2 keep-alive connections), served 50 and 40 days ago, 5 % of
them with a correction; the rollups count them. Then:

1. the sweep deletes the first cohort alone (a 30-day retention seen from 15 days ago):
   deleted rows/s against the API's ingest rows/s of the same rows;
2. `--rows` recent predictions are posted while nothing else runs: latency per request;
3. the same again while the sweep deletes the second cohort: latency per request.
"""

import argparse
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Server, django_setup, fresh_database, machine, report  # noqa: E402
from benchmarks.ingest import make_items  # noqa: E402


def post_all(url: str, key: str, slug: str, items: list[dict], connections: int = 2):
    """Post `items` as 1,000-item batches over `connections` keep-alive connections; returns
    (seconds, per-request latencies in ms)."""
    from concurrent.futures import ThreadPoolExecutor

    import orjson
    import requests

    bodies = [orjson.dumps({"predictions": items[i : i + 1000]}) for i in range(0, len(items), 1000)]  # fmt: skip
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    endpoint = f"{url}/api/v1/projects/{slug}/predictions"
    local = threading.local()
    latencies: list[float] = []

    def send(body: bytes) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = time.perf_counter()
        response = local.session.post(endpoint, data=body, headers=headers, timeout=120)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        return response.json()["accepted"]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        accepted = sum(pool.map(send, bodies))
    assert accepted == len(items), (accepted, len(items))
    return time.perf_counter() - start, latencies


def quantiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99), "requests": len(values)}


def cohort(n: int, prefix: str, served_at) -> list[dict]:
    items = make_items(n)
    for i, item in enumerate(items):
        item["request_id"] = f"{prefix}-{i:08d}"
        item["served_at"] = (served_at + timedelta(milliseconds=i * 10)).isoformat()
    return items


def correct_every_20th(project, items: list[dict]) -> int:
    """A correction for 5 % of the items (ingest's bulk path, as the API would store them)."""
    from feedback.ingest import feedback_ingest

    labels = [label for label in project.labels] or ["card_arrival", "card_not_working"]
    batch = [
        {"kind": "correction", "request_id": item["request_id"],
         "corrected_label": next(label for label in labels if label != item["predicted_label"])}
        for item in items[::20]
    ]  # fmt: skip
    return feedback_ingest(project=project, items=batch).accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    database_url = fresh_database("voc_bench_retention")
    django_setup(database_url)
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from dashboards.services.rollups import hour_floor, rollup_pass
    from feedback.models import Prediction
    from feedback.services import api_key_create, project_create
    from lifecycle.retention import retention_sweep

    settings.VOC_FEEDBACK_INGESTED_TASKS = []  # no worker here: leave the broker alone
    now = hour_floor(timezone.now())
    project = project_create(slug="bench-retention", name="retention")
    project.prediction_retention_days = 30
    project.save(update_fields=["prediction_retention_days"])
    _, key = api_key_create(project=project, scopes=["ingest"])
    first = cohort(args.rows, "first", now - timedelta(days=50))
    second = cohort(args.rows, "second", now - timedelta(days=40))
    figures: dict = {"rows_per_cohort": args.rows}

    server = Server(database_url, workers=2)
    try:
        ingest_s, _ = post_all(server.url, key, project.slug, first)
        post_all(server.url, key, project.slug, second)
        figures["corrections"] = correct_every_20th(project, first) + correct_every_20th(
            project, second
        )
        counted = time.perf_counter()
        while rollup_pass(time_budget=3600).remaining:
            pass
        rollup_pass(time_budget=3600)  # the cursor's second look
        figures["rollup_seconds"] = round(time.perf_counter() - counted, 1)

        started = time.perf_counter()
        alone = retention_sweep(now=now - timedelta(days=15), time_budget=3600)
        sweep_s = time.perf_counter() - started
        figures["ingest_rows_per_s"] = round(args.rows / ingest_s)
        figures["sweep_alone"] = {
            "deleted": alone.deleted,
            "batches": alone.batches,
            "seconds": round(sweep_s, 1),
            "deleted_rows_per_s": round(alone.deleted / sweep_s),
        }
        figures["delete_to_ingest_ratio"] = round((alone.deleted / sweep_s) / (args.rows / ingest_s), 2)  # fmt: skip

        _, quiet = post_all(server.url, key, project.slug, cohort(args.rows, "quiet", now))
        figures["ingest_latency_without_sweep"] = quantiles(quiet)

        during: dict = {}

        def sweep() -> None:
            began = time.perf_counter()
            result = retention_sweep(now=now, time_budget=3600)
            during.update(deleted=result.deleted, seconds=round(time.perf_counter() - began, 1))
            connection.close()

        sweeper = threading.Thread(target=sweep)
        sweeper.start()
        _, busy = post_all(server.url, key, project.slug, cohort(args.rows, "busy", now))
        sweeper.join()
        figures["ingest_latency_during_sweep"] = quantiles(busy)
        figures["sweep_during_ingest"] = during
        figures["p95_during_over_without"] = round(
            figures["ingest_latency_during_sweep"]["p95_ms"]
            / figures["ingest_latency_without_sweep"]["p95_ms"],
            2,
        )
        left = Prediction.objects.filter(project=project, served_at__lt=now - timedelta(days=30))
        figures["old_rows_left"] = left.count()
        figures["old_rows_left_with_feedback"] = left.filter(feedback__isnull=False).count()
    finally:
        server.stop()
    figures["machine"] = machine()
    report(figures, args.json)


if __name__ == "__main__":
    main()
