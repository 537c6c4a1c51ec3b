"""What PostgreSQL holds per million predictions and per million feedback items, measured on
tables loaded as the app loads them.

    python benchmarks/capacity.py --repeat 40

The Banking77 replay (seed 0) served `--repeat` times is ingested through the app's services
(predictions with text, top-5 scores, metadata and a customer reference; the replay's
corrections, complaints and ratings), one clustering run (light representation) gives every
error item its triage row, and each error item gets a stored sentence vector (384 float32, as
the embeddings store them). After VACUUM ANALYZE, pg_total_relation_size (heap, TOAST and
indexes) of each table, divided by its rows.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine, report  # noqa: E402

# Tables whose rows grow with predictions, and with feedback items (one row each, or fewer).
PER_PREDICTION = ["feedback_prediction"]
PER_FEEDBACK = ["feedback_feedback", "feedback_feedbackrepeat", "triage_itemassignment"]
PER_VECTOR = ["triage_itemvector"]
MB = 1024 * 1024


def table_sizes() -> dict[str, dict]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),"
            " pg_indexes_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid ="
            " c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        sizes = {}
        for name, total, heap, indexes in cursor.fetchall():
            cursor.execute(f'SELECT count(*) FROM "{name}"')
            sizes[name] = {
                "rows": cursor.fetchone()[0],
                "total": total,
                "heap": heap,
                "indexes": indexes,
            }
        cursor.execute("SELECT pg_database_size(current_database())")
        sizes["(database)"] = {"total": cursor.fetchone()[0]}
    return sizes


def per_million(sizes: dict, tables: list[str], rows: int) -> dict:
    total = sum(sizes[t]["total"] for t in tables)
    indexes = sum(sizes[t]["indexes"] for t in tables)
    return {
        "rows": rows,
        "tables": {t: f"{sizes[t]['rows']} rows, {sizes[t]['total'] / MB:.1f} MB" for t in tables},
        "bytes_per_row": round(total / rows),
        "of_which_indexes": round(indexes / rows),
        "gb_per_million": round(total / rows * 1e6 / 1024**3, 2),
    }


def store_vectors(project) -> int:
    """A 384-dimension float32 vector for every error item with a triage row, as the
    embeddings follow-up stores them (random values: the size does not depend on them)."""
    import numpy as np

    from core.bulk import upsert
    from feedback.models import Feedback

    ids = list(
        Feedback.objects.filter(project=project, assignment__isnull=False)
        .exclude(kind="rating")
        .values_list("id", flat=True)
    )
    rng = np.random.default_rng(0)
    for start in range(0, len(ids), 5000):
        batch = ids[start : start + 5000]
        vectors = rng.standard_normal((len(batch), 384)).astype(np.float32)
        rows = [
            (fid, "all-MiniLM-L6-v2", f"{fid:032x}", vector.tobytes())
            for fid, vector in zip(batch, vectors, strict=True)
        ]
        upsert(
            "triage_itemvector",
            ["feedback_id", "model", "text_hash", "vector"],
            rows,
            conflict="feedback_id",
            update=["vector"],
        )
    return len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=40, help="times the replay is served")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    django_setup(fresh_database("voc_bench_capacity"))
    from django.conf import settings
    from django.db.models import Count

    from benchmarks.clustering import load, run_once
    from feedback.models import Feedback, Prediction
    from feedback.replay import build_replay
    from triage.models import ClusteringSettings

    started = time.perf_counter()
    settings.VOC_FEEDBACK_INGESTED_TASKS = []  # no worker here: the run below does the triage
    project = load(build_replay(seed=0, repeat=args.repeat), "capacity")
    ClusteringSettings.objects.create(project=project, representation="lsa")
    run_once(project, "capacity")
    vectors = store_vectors(project)
    sizes = table_sizes()
    predictions = Prediction.objects.count()
    feedback = Feedback.objects.count()
    figures = {
        "replay_served_times": args.repeat,
        "load_and_run_seconds": round(time.perf_counter() - started, 1),
        "feedback_kinds": dict(Feedback.objects.values_list("kind").annotate(n=Count("id"))),
        "per_million_predictions": per_million(sizes, PER_PREDICTION, predictions),
        "per_million_feedback_items": per_million(sizes, PER_FEEDBACK, feedback),
        "per_million_stored_vectors": per_million(sizes, PER_VECTOR, vectors),
        "database_mb": round(sizes["(database)"]["total"] / MB),
        "machine": machine(),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
