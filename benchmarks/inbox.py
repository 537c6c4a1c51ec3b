"""The team inbox on 100,000 feedback items (PostgreSQL): each filter, deep pages, search.

    make bench                 # all benchmarks
    python benchmarks/inbox.py --feedback 100000

A year of Banking77 replay traffic is ingested through the services (predictions and
feedback cycled with fresh ids and dates), half of the feedback is put in error categories,
then `inbox_page` (the exact function the page calls) is timed per scenario: median of
several runs, warm cache, as a reviewer clicking through filters would see it. The baseline
in the same run is an exact COUNT(*) of the same rows, which the page avoids.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine  # noqa: E402

RUNS = 7


def load(n_feedback: int) -> tuple:
    from django.db import connection

    from feedback.ingest import feedback_ingest, prediction_ingest
    from feedback.models import Feedback
    from feedback.replay import build_replay
    from feedback.services import project_create
    from triage.models import ErrorCategory, ItemAssignment

    replay = build_replay(seed=0)
    project = project_create(
        slug="bench-inbox", name="Inbox", labels=replay.labels, label_names=replay.label_names
    )
    base_p, base_f = replay.predictions, replay.feedback
    copies = -(-n_feedback // len(base_f))
    p_copies = max(1, -(-n_feedback // len(base_p)))
    day = timedelta(days=365 / copies)
    from feedback.validation import parse_timestamp

    def shifted(value, k):
        return (parse_timestamp(value) + day * k).isoformat() if value else None

    for k in range(p_copies):
        items = [
            {**p, "request_id": f"{p['request_id']}~{k}", "served_at": shifted(p["served_at"], k)}
            for p in base_p
        ]
        prediction_ingest(project=project, items=items)
    done = 0
    for k in range(copies):
        items = []
        for f in base_f[: n_feedback - done]:
            item = {**f, "created_at": shifted(f.get("created_at"), k)}
            if f.get("request_id"):
                item["request_id"] = f"{f['request_id']}~{k % p_copies}"
            if f.get("external_id"):
                item["external_id"] = f"{f['external_id']}~{k}"
            item["source"] = ("api", "api", "widget", "import")[k % 4]
            items.append(item)
        feedback_ingest(project=project, items=items)
        done += len(items)
    categories = ErrorCategory.objects.bulk_create(
        [ErrorCategory(project=project, title=f"category {i}") for i in range(30)]
    )
    ids = list(Feedback.objects.filter(project=project).values_list("id", flat=True))
    ItemAssignment.objects.bulk_create(
        [ItemAssignment(feedback_id=i, category=categories[i % 30]) for i in ids[::2]],
        batch_size=5000,
    )
    Feedback.objects.filter(id__in=ids[::2]).update(triage_state="categorized")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project, len(ids)


def timed(fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def scenarios(project) -> dict:
    from feedback.models import Feedback
    from triage.selectors_inbox import Cursor, InboxFilters, inbox_page, inbox_queryset

    version = project.model_versions.order_by("version").first()
    middle = Feedback.objects.filter(project=project).order_by("-created_at", "-id")[50_000]
    deep = Cursor(middle.created_at, middle.id)
    rare_label = "card_acceptance"
    cases = {
        "first page, no filter": (InboxFilters(), None),
        "page at item 50,000 (cursor)": (InboxFilters(), deep),
        "kind = correction": (InboxFilters(kind="correction"), None),
        "model version": (InboxFilters(model_version_id=version.id), None),
        "predicted label (1 of 77)": (InboxFilters(predicted_label=rare_label), None),
        "corrected label (1 of 77)": (InboxFilters(corrected_label=rare_label), None),
        "source = import": (InboxFilters(source="import"), None),
        "source matching nothing": (InboxFilters(source="fax"), None),
        "triage state = new": (InboxFilters(triage_state="new"), None),
        "one month": (
            InboxFilters(since=middle.created_at.date(), until=middle.created_at.date() + timedelta(days=30)),
            None,
        ),
        "text search, common word": (InboxFilters(q="card"), None),
        "text search, no match": (InboxFilters(q="zebra crossing"), None),
        "combined: correction, version, month": (
            InboxFilters(kind="correction", model_version_id=version.id,
                         since=middle.created_at.date() - timedelta(days=30), until=middle.created_at.date()),
            None,
        ),
    }  # fmt: skip
    results = {}
    for name, (filters, cursor) in cases.items():
        page_ms, page = timed(
            lambda f=filters, c=cursor: inbox_page(project=project, filters=f, older_than=c)
        )
        count_ms, exact = timed(
            lambda f=filters: inbox_queryset(project=project, filters=f).count()
        )
        results[name] = {
            "page_ms": round(page_ms, 1),
            "rows": len(page.items),
            "capped_count": f"{page.count}{'+' if page.count_capped else ''}",
            "exact_count_ms": round(count_ms, 1),
            "exact_count": exact,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feedback", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    django_setup(fresh_database("voc_bench_inbox"))
    start = time.perf_counter()
    project, total = load(args.feedback)
    load_s = time.perf_counter() - start
    figures = {
        "feedback": total,
        "load_seconds": round(load_s, 1),
        "scenarios": scenarios(project),
        "machine": machine(),
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
