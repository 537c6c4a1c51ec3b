"""Exports of 1,000,000 corrected predictions on PostgreSQL, to each format: rows/s and memory.

    make bench                 # all benchmarks
    python benchmarks/export.py --rows 1000000

A project with `--rows` predictions (Banking77 queries, with scores), each corrected once by
a customer, is loaded with COPY. Each export is then built by `export_build` exactly as the
Celery worker runs it, in a fresh process per format so that its peak resident memory is its
own. The baseline, in the same run: a plain psycopg `COPY (SELECT ...) TO STDOUT` of the same
join (prediction + its correction) into a CSV file, also in a fresh process. Last, a JSONL
export with the likely-wrong check (`flagged=mark`): every correction of this data goes
through the neighbour search (the model's scores are against each of them). With
`--only jsonl jsonl@bucket`, the same JSONL export streamed into an S3 bucket (moto, a real S3
protocol server, on loopback) instead of the media folder: the multipart upload's cost and its
memory.
"""

import argparse
import contextlib
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine, peak_rss_mb, report  # noqa: E402

FORMATS = ("jsonl", "csv", "parquet")
# ... and with the likely-wrong check marking its flags (format:handling).
CHECKED = ("jsonl:mark",)
# ... and into a bucket (format@bucket).
BUCKETED = ("jsonl@bucket",)
BUCKET = "voc-bench-export"
BASELINE_SQL = """
COPY (
  SELECT p.request_id, p.input_text, p.predicted_label, f.corrected_label, v.version,
         p.served_at, f.id
  FROM feedback_feedback f
  JOIN feedback_prediction p ON p.id = f.prediction_id
  JOIN feedback_modelversion v ON v.id = p.model_version_id
  WHERE f.project_id = %s AND f.kind = 'correction'
  ORDER BY f.prediction_id, f.created_at, f.id
) TO STDOUT WITH (FORMAT csv, HEADER)
"""


def load(rows: int) -> int:
    """`rows` predictions and one correction each, by COPY and INSERT ... SELECT."""
    from django.db import connection

    from feedback.models import ModelVersion
    from feedback.replay import load_banking77
    from feedback.services import project_create

    _, test, labels = load_banking77()
    project = project_create(slug="bench-export", name="Export", labels=labels)
    version = ModelVersion.objects.create(project=project, version="v1")
    texts, truths = test.text.tolist(), test.category.tolist()
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3
        columns = (
            "request_id, input_text, predicted_label, scores, confidence, served_at, metadata, "
            "customer_hash, received_at, model_version_id, project_id"
        )
        with raw.cursor().copy(f"COPY feedback_prediction ({columns}) FROM STDIN") as copy:
            for i in range(rows):
                truth = truths[i % len(truths)]
                predicted = labels[(labels.index(truth) + 1) % len(labels)]
                scores = json.dumps({predicted: 0.55, truth: 0.3})
                when = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00+00"
                copy.write_row(
                    (f"bench-{i:07d}", f"{texts[i % len(texts)]} #{i // len(texts)}", predicted,
                     scores, 0.55, when, "{}", "", when, version.id, project.id)
                )  # fmt: skip
        # The customer corrects to the model's second guess (the other key of its scores).
        cursor.execute(
            """
            INSERT INTO feedback_feedback (kind, text, corrected_label, source, customer_hash,
              created_at, received_at, triage_state, dedup_key, repeat_count, prediction_id,
              project_id, model_version_id, predicted_label)
            SELECT 'correction', '',
              (SELECT k FROM jsonb_object_keys(p.scores) k WHERE k <> p.predicted_label LIMIT 1),
              'widget', '', p.served_at + interval '1 min', p.served_at + interval '1 min',
              'new', '', 1, p.id, p.project_id, p.model_version_id, p.predicted_label
            FROM feedback_prediction p WHERE p.project_id = %s
            """,
            [project.id],
        )
        cursor.execute("ANALYZE feedback_prediction")
        cursor.execute("ANALYZE feedback_feedback")
    return project.id


def build_one(
    database_url: str, fmt: str, folder: str, flagged: str = "ignore", endpoint: str = ""
) -> dict:
    """In a fresh process: build one export as the worker does (into a bucket at `endpoint`
    when given)."""
    if endpoint:
        os.environ.update(bucket_env(endpoint))
    django_setup(database_url)
    from django.conf import settings

    import triage.services.exports as export_services
    from feedback.models import Project
    from triage.models import DatasetExport
    from triage.services.export_build import export_build

    settings.MEDIA_ROOT = folder
    export_services.publish = lambda *args: False  # this process builds it itself
    project = Project.objects.get(slug="bench-export")
    export = export_services.export_request(project=project, format=fmt, flagged=flagged)
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    export_build(export_id=export.id)
    seconds = time.perf_counter() - start
    export = DatasetExport.objects.get(id=export.id)
    assert export.status == "succeeded", export.error
    where = f"{fmt} into a bucket" if endpoint else fmt
    return {
        "format": where if flagged == "ignore" else f"{fmt}, flagged={flagged}",
        "rows": export.row_count,
        "flagged": export.manifest["flagged"]["count"],
        "seconds": round(seconds, 2),
        "rows_per_s": round(export.row_count / seconds),
        "file_mb": round(export.size_bytes / 1e6, 1),
        "peak_rss_mb_before": round(rss_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def baseline_copy(database_url: str, project_id: int, folder: str) -> dict:
    import psycopg

    start = time.perf_counter()
    path = Path(folder) / "baseline.csv"
    with psycopg.connect(database_url) as conn, open(path, "wb") as out:
        with conn.cursor().copy(BASELINE_SQL.replace("%s", str(int(project_id)))) as copy:
            for block in copy:
                out.write(block)
    seconds = time.perf_counter() - start
    with open(path, newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1  # header
    return {
        "format": "psycopg COPY TO (csv)",
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def bucket_env(endpoint: str) -> dict:
    return {
        "VOC_STORAGE_URL": f"s3://{BUCKET}/bench",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@contextlib.contextmanager
def s3_server():
    """moto's S3 server on a free loopback port, with the bucket made; yields its URL."""
    import boto3

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        env = bucket_env(endpoint)
        client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1",
        )  # fmt: skip
        for _ in range(100):
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def child(args) -> None:
    if args.child == "baseline":
        figures = baseline_copy(args.database, args.project, args.folder)
    else:
        fmt, _, flagged = args.child.partition(":")
        fmt, _, _ = fmt.partition("@")
        figures = build_one(args.database, fmt, args.folder, flagged or "ignore", args.endpoint)
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--only",
        nargs="+",
        help="some of: baseline jsonl csv parquet jsonl:mark jsonl@bucket (default all)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    database = fresh_database("voc_bench_export")
    django_setup(database)
    start = time.perf_counter()
    project_id = load(args.rows)
    load_seconds = time.perf_counter() - start
    results = []
    names = args.only or ("baseline", *FORMATS, *CHECKED, *BUCKETED)
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        endpoint = stack.enter_context(s3_server()) if set(names) & set(BUCKETED) else ""
        for name in names:
            output = subprocess.run(
                [sys.executable, __file__, "--child", name, "--database", database,
                 "--project", str(project_id), "--folder", folder,
                 "--endpoint", endpoint if name in BUCKETED else ""],
                check=True, capture_output=True, text=True, env=os.environ,
            ).stdout  # fmt: skip
            results.append(json.loads(output.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)
    figures = {
        "machine": machine(),
        "rows": args.rows,
        "load_seconds": round(load_seconds, 1),
        "results": results,
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
