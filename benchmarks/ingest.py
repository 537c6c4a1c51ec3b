"""Ingest throughput through the HTTP API on PostgreSQL, against raw COPY in the same run.

    make bench                 # all benchmarks
    python benchmarks/ingest.py --rows 200000 --batch 1000

One client process posts pre-encoded 1,000-item JSON batches (Banking77 replay predictions
with scores, metadata and a customer reference) over a keep-alive connection to gunicorn on
the same machine. Baselines, same rows, same table, same run: psycopg `COPY` (the fastest way
into PostgreSQL) and Django `bulk_create`.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Server, django_setup, fresh_database, machine, report  # noqa: E402


def make_items(n: int) -> list[dict]:
    from feedback.replay import build_replay

    base = build_replay(seed=0).predictions
    items = []
    for i in range(n):
        item = dict(base[i % len(base)])
        item["request_id"] = f"bench-{i:08d}"
        items.append(item)
    return items


def run_api(
    server_url: str, slug: str, key: str, items: list[dict], batch: int, connections: int
) -> float:
    """Post all items from this one process over `connections` keep-alive connections (as
    a production logger with a small sender pool would); returns the wall time."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import orjson
    import requests

    bodies = [
        orjson.dumps({"predictions": items[i : i + batch]}) for i in range(0, len(items), batch)
    ]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    url = f"{server_url}/api/v1/projects/{slug}/predictions"
    local = threading.local()

    def send(body: bytes) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.post(url, data=body, headers=headers)
        response.raise_for_status()
        return response.json()["accepted"]

    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(send, [b'{"predictions": []}'] * connections))  # warm-up
        start = time.perf_counter()
        accepted = sum(pool.map(send, bodies))
        elapsed = time.perf_counter() - start
    assert accepted == len(items), (accepted, len(items))
    return elapsed


def rows_for_baseline(project, items):
    """The rows as ingest stores them (validated and hashed), for the baselines."""
    from feedback.ingest import PREDICTION_COLUMNS, model_versions_resolve

    version_id = model_versions_resolve(project=project, names={"v1", "v2"})
    rows = []
    for item in items:
        rows.append(
            (
                project.id,
                version_id[item["model_version"]],
                item["request_id"],
                item["input_text"],
                None,
                item["predicted_label"],
                json.dumps(item["scores"]),
                item["confidence"],
                item["latency_ms"],
                item["served_at"],
                json.dumps(item["metadata"]),
                "0" * 64,
                item["served_at"],
            )
        )
    return PREDICTION_COLUMNS, rows


def run_copy(project, items) -> float:
    from django.db import connection, transaction

    from feedback.models import Prediction

    columns, rows = rows_for_baseline(project, items)
    with transaction.atomic():
        start = time.perf_counter()
        with connection.cursor() as cursor:
            sql = f"COPY {Prediction._meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
    return time.perf_counter() - start


def run_bulk_create(project, items) -> float:
    from datetime import datetime

    from feedback.models import Prediction

    columns, rows = rows_for_baseline(project, items)
    objects = []
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        for field in ("scores", "metadata"):
            values[field] = json.loads(values[field])
        for field in ("served_at", "received_at"):
            values[field] = datetime.fromisoformat(values[field])
        objects.append(Prediction(**values))
    start = time.perf_counter()
    Prediction.objects.bulk_create(objects, batch_size=1000)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=2, help="client connections")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    database_url = fresh_database("voc_bench_ingest")
    django_setup(database_url)
    from feedback.services import api_key_create, project_create

    api_project = project_create(slug="bench-api", name="API")
    copy_project = project_create(slug="bench-copy", name="COPY")
    orm_project = project_create(slug="bench-orm", name="ORM")
    _, key = api_key_create(project=api_project, scopes=["ingest"])
    items = make_items(args.rows)

    copy_seconds = run_copy(copy_project, items)
    orm_seconds = run_bulk_create(orm_project, items)
    server = Server(database_url, workers=args.workers)
    try:
        api_seconds = run_api(
            server.url, api_project.slug, key, items, args.batch, args.connections
        )
    finally:
        server.stop()

    figures = {
        "rows": args.rows,
        "batch": args.batch,
        "gunicorn_workers": args.workers,
        "client_connections": args.connections,
        "api_rows_per_s": round(args.rows / api_seconds),
        "copy_rows_per_s": round(args.rows / copy_seconds),
        "bulk_create_rows_per_s": round(args.rows / orm_seconds),
        "api_to_copy_ratio": round(copy_seconds / api_seconds, 3),
        "api_to_bulk_create_ratio": round(orm_seconds / api_seconds, 2),
        "machine": machine(),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
