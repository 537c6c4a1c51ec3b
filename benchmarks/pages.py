"""Server time of the review board and the category page on a year-sized project.

    python benchmarks/pages.py --predictions 2000000 --feedback 200000 --categories 500

Generates (with COPY) a project with 2,000,000 predictions over two model versions, 200,000
feedback items and 500 error categories (Zipf-sized, with trends, snapshots and per-version
rates), then renders each page through Django's full request stack in-process, N times, and
reports median and p95 server time. Baseline in the same run: the project overview page
(login, membership check, template, no category data).
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine, report  # noqa: E402

LABELS = [f"intent_{i:02d}" for i in range(77)]


def copy_rows(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def generate(n_predictions: int, n_feedback: int, n_categories: int, seed: int = 0) -> dict:
    from django.db import connection, transaction

    from feedback.models import Membership, ModelVersion
    from feedback.services import project_create
    from tests.factories import UserFactory
    from triage.models import CategorySnapshot, ClusteringRun, ErrorCategory

    rng = np.random.default_rng(seed)
    project = project_create(slug="big", name="Big project", labels=LABELS)
    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    v1 = ModelVersion.objects.create(project=project, version="v1", released_at=start)
    v2 = ModelVersion.objects.create(
        project=project, version="v2", released_at=start + timedelta(days=180)
    )
    user = UserFactory(username="bench")
    Membership.objects.create(project=project, user=user, role="reviewer", team="data")
    with transaction.atomic():
        offsets = np.sort(rng.uniform(0, 365 * 86400, n_predictions))
        predicted = rng.integers(0, len(LABELS), n_predictions)
        half = np.searchsorted(offsets, 180 * 86400)
        copy_rows(
            "feedback_prediction",
            ["project_id", "model_version_id", "request_id", "input_text", "predicted_label",
             "confidence", "served_at", "metadata", "customer_hash", "received_at"],
            (
                (project.id, v1.id if i < half else v2.id, f"r{i:08d}", f"query number {i % 5000}",
                 LABELS[predicted[i]], 0.7, start + timedelta(seconds=float(offsets[i])), "{}", "",
                 start + timedelta(seconds=float(offsets[i])))
                for i in range(n_predictions)
            ),
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT min(id) FROM feedback_prediction WHERE project_id = %s", [project.id]
            )
            first_id = cursor.fetchone()[0]
        linked = rng.choice(n_predictions, n_feedback, replace=False)
        kinds = rng.choice(["complaint", "correction", "rating"], n_feedback, p=[0.4, 0.4, 0.2])
        copy_rows(
            "feedback_feedback",
            ["project_id", "prediction_id", "kind", "text", "corrected_label", "rating", "source",
             "customer_hash", "created_at", "received_at", "triage_state", "dedup_key",
             "repeat_count", "predicted_label", "model_version_id"],
            (
                (project.id, first_id + int(p), k, f"complaint text {i % 3000}" if k != "rating" else "",
                 LABELS[(predicted[p] + 1) % len(LABELS)] if k == "correction" else "",
                 -1 if k == "rating" else None, "widget", "",
                 start + timedelta(seconds=float(offsets[p]) + 600),
                 start + timedelta(seconds=float(offsets[p]) + 600), "categorized", "", 1,
                 # Ingest copies the prediction's label and version onto the feedback.
                 LABELS[predicted[p]], v1.id if p < half else v2.id)
                for i, (p, k) in enumerate(zip(linked, kinds, strict=True))
            ),
        )  # fmt: skip
        run = ClusteringRun.objects.create(
            project=project, status="succeeded", finished_at=now, n_items=n_feedback
        )
        # Zipf's law by rank (size ~ 1/rank): of 500 categories the biggest holds ~15 % of
        # the items and the median ~120, as a long tail of error themes does.
        weights = 1 / np.arange(1, n_categories + 1)
        sizes = np.maximum(1, weights / weights.sum() * n_feedback).astype(int)
        sizes[0] += n_feedback - sizes.sum()
        states = ["new", "triaging", "planned", "fixed", "wont_fix", "regressed"]
        categories = ErrorCategory.objects.bulk_create(
            ErrorCategory(
                project=project, title=f"Category {c}: intent_{c % 77:02d} answered wrongly",
                state=states[c % len(states)], size=int(sizes[c]), share=float(sizes[c] / n_feedback),
                keywords=["card", "arrive", "week", "transfer"],
                top_confusions=[{"predicted": LABELS[c % 77], "corrected": LABELS[(c + 1) % 77],
                                 "count": int(sizes[c] // 3)}],
                labels={"predicted": {LABELS[c % 77]: int(sizes[c])},
                        "corrected": {LABELS[(c + 1) % 77]: int(sizes[c] // 2)}},
                trend=[int(sizes[c] * f) for f in (0.5, 0.7, 0.8, 0.9, 1.0)],
                growth=float(rng.uniform(-0.5, 2)), impact=float(rng.uniform(0, 5)),
                owner_team=["", "model", "data"][c % 3], representative_ids=[],
            )
            for c in range(n_categories)
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM feedback_feedback WHERE project_id = %s ORDER BY id", [project.id]
            )
            feedback_ids = [row[0] for row in cursor.fetchall()]
        owner = np.repeat(np.arange(n_categories), sizes)
        rng.shuffle(owner)
        copy_rows(
            "triage_itemassignment",
            ["feedback_id", "category_id", "pinned", "similarity", "run_id", "processed_at"],
            (
                (feedback_id, categories[owner[i]].id, False, float(rng.uniform(0.4, 1)), run.id, now)
                for i, feedback_id in enumerate(feedback_ids)
            ),
        )  # fmt: skip
        for category in categories:
            category.representative_ids = feedback_ids[:5]
        ErrorCategory.objects.bulk_update(categories, ["representative_ids"], batch_size=500)
        CategorySnapshot.objects.bulk_create(
            CategorySnapshot(run=run, category=c, size=c.size, share=c.share) for c in categories
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    from triage.services.verification import category_rates_refresh

    started = time.perf_counter()
    category_rates_refresh(project=project)
    return {
        "user": user,
        "project": project,
        "biggest": categories[0],
        "median_category": categories[n_categories // 2],
        "rates_refresh_seconds": round(time.perf_counter() - started, 2),
    }


def measure(client, url: str, repeats: int) -> dict:
    client.get(url)  # warm caches (templates, connection)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(round(0.95 * len(times))) - 1)], 1),
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictions", type=int, default=2_000_000)
    parser.add_argument("--feedback", type=int, default=200_000)
    parser.add_argument("--categories", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    django_setup(fresh_database("voc_bench_pages"))
    from django.test import Client

    started = time.perf_counter()
    data = generate(args.predictions, args.feedback, args.categories)
    generated = round(time.perf_counter() - started, 1)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(data["user"])
    slug, big, middle = data["project"].slug, data["biggest"], data["median_category"]
    version = data["project"].model_versions.get(version="v2").id
    pages = {
        "baseline: project overview": f"/p/{slug}/",
        "board": f"/p/{slug}/board/",
        "board, filtered (version + label + min size)": (
            f"/p/{slug}/board/?version={version}&label=intent_03&min_size=5&sort=growth"
        ),
        f"category page, biggest ({big.size} items)": f"/p/{slug}/categories/{big.id}/",
        "category page, biggest, page 40": f"/p/{slug}/categories/{big.id}/?page=40",
        f"category page, median ({middle.size} items)": f"/p/{slug}/categories/{middle.id}/",
    }
    results = {name: measure(client, url, args.repeats) for name, url in pages.items()}
    baseline = results["baseline: project overview"]["median_ms"]
    for figures in results.values():
        figures["median_to_baseline"] = round(figures["median_ms"] / baseline, 1)
    figures = {
        "predictions": args.predictions,
        "feedback": args.feedback,
        "categories": args.categories,
        "generation_seconds": generated,
        "rates_refresh_seconds": data["rates_refresh_seconds"],
        "repeats": args.repeats,
        "pages": results,
        "machine": machine(),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
