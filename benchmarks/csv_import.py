"""A CSV import of 1,000,000 ticket rows on PostgreSQL: throughput and memory.

    make bench                 # all benchmarks
    python benchmarks/csv_import.py --rows 1000000

A ticket export (id, date, text, customer; 1 % of rows rejected for an empty text, customers
repeating themselves now and then) is written to disk, then imported by `import_job_run` in
this process exactly as the Celery worker runs it. Reported: rows per second, and the
process's peak resident memory before and after, which must not grow with the file (the file
is streamed, never loaded).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine, peak_rss_mb, report  # noqa: E402

COMPLAINTS = [
    "My card was declined at the shop",
    "The exchange rate you showed was wrong",
    "I still have not received my new card",
    "Why was I charged a fee for this transfer?",
    "The app logs me out every time",
]


def write_export(path: Path, rows: int) -> int:
    with open(path, "w", encoding="utf-8") as out:
        out.write("Ticket ID,Created,Description,Requester\n")
        for i in range(rows):
            text = "" if i % 100 == 99 else f"{COMPLAINTS[i % 5]} (ticket {i // 7})"
            out.write(
                f"T-{i},2025-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d},"
                f'"{text}",customer-{i % 50_000}\n'
            )
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    django_setup(fresh_database("voc_bench_import"))
    from django.conf import settings
    from django.core.files import File

    from feedback.imports import import_job_run, import_job_start, import_job_upload
    from feedback.models import Feedback, ImportJob
    from feedback.services import project_create

    settings.VOC_FEEDBACK_INGESTED_TASKS = []  # measure the import, not the broker
    with tempfile.TemporaryDirectory() as folder:
        settings.MEDIA_ROOT = folder
        path = Path(folder) / "tickets.csv"
        size = write_export(path, args.rows)
        project = project_create(slug="bench-import", name="Import")
        with open(path, "rb") as handle:
            job = import_job_upload(project=project, upload=File(handle, name="tickets.csv"))
        job = import_job_start(job=job, mapping=job.mapping)
        rss_before = peak_rss_mb()
        start = time.perf_counter()
        import_job_run(job_id=job.id)
        seconds = time.perf_counter() - start
        rss_after = peak_rss_mb()
        job = ImportJob.objects.get(id=job.id)
        stored = Feedback.objects.filter(project=project).count()

    figures = {
        "rows": args.rows,
        "file_mb": round(size / 1024**2, 1),
        "status": job.status,
        "seconds": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds),
        "rows_accepted": job.rows_accepted,
        "rows_repeated": job.rows_repeated,
        "rows_rejected": job.rows_rejected,
        "feedback_stored": stored,
        "peak_rss_mb_before_import": round(rss_before, 1),
        "peak_rss_mb_after_import": round(rss_after, 1),
        "machine": machine(),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
