"""Segment counts in the rollups: what they add to an hour's recount, and what they store.

An hour of traffic (default 1,000 predictions/s, two versions) whose metadata has six keys of
3 to 500 values (plus a request id the project ignores), 2 % of the predictions corrected,
1 % complained about. The hour's rollup rows are recomputed with segment counts and without
(the segment query switched off), alternating, in the same run: the ratio is the cost. Then
the stored size of one hour's rows, with and without their segment counts.

    python benchmarks/segments.py --per-second 1000 --rounds 3
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine, report  # noqa: E402
from benchmarks.dashboards import (  # noqa: E402
    FEEDBACK_COLUMNS,
    LABELS,
    METADATA_KEYS,
    PREDICTION_COLUMNS,
    metadata_rows,
)
from benchmarks.pages import copy_rows  # noqa: E402


def load_hour(per_second: int, seed: int = 0) -> dict:
    from django.db import connection, transaction

    from dashboards.models import DashboardSettings
    from feedback.models import ModelVersion, Prediction
    from feedback.services import project_create

    rng = np.random.default_rng(seed)
    project = project_create(slug="segments", name="Segments", labels=LABELS)
    DashboardSettings.objects.create(project=project, segment_ignore_keys=["request"])
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    versions = [
        ModelVersion.objects.create(project=project, version=v, released_at=hour)
        for v in ("v1", "v2")
    ]
    n = per_second * 3600
    offsets = np.sort(rng.uniform(0, 3600, n))
    labels = rng.integers(0, len(LABELS), n)
    metadata = metadata_rows(rng, n)

    def predictions():
        for i in range(n):
            served = hour + timedelta(seconds=float(offsets[i]))
            yield (
                project.id, versions[i % 2].id, f"s{i:09d}", "query", LABELS[labels[i]], 0.7,
                40.0, served, next(metadata), "", served,
            )  # fmt: skip

    def feedback(first_id: int):
        chosen = rng.choice(n, n * 3 // 100, replace=False)
        for j, i in enumerate(chosen):
            i = int(i)
            kind = "correction" if j % 3 else "complaint"
            served = hour + timedelta(seconds=float(offsets[i]))
            yield (
                project.id, first_id + i, LABELS[labels[i]], versions[i % 2].id, kind,
                "!" if kind == "complaint" else "",
                LABELS[(labels[i] + 1) % len(LABELS)] if kind == "correction" else "",
                None, "widget", "", served, served, "new", "", 1,
            )  # fmt: skip

    with transaction.atomic():
        copy_rows("feedback_prediction", PREDICTION_COLUMNS, predictions())
        first_id = Prediction.objects.filter(project=project).order_by("id").first().id
        copy_rows("feedback_feedback", FEEDBACK_COLUMNS, feedback(first_id))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"project": project, "hour": hour, "predictions": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-second", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    django_setup(fresh_database("voc_bench_segments"))
    from dashboards.services import rollup_counts
    from dashboards.services.rollup_counts import rollup_hour_compute

    started = time.perf_counter()
    data = load_hour(args.per_second)
    loaded = round(time.perf_counter() - started, 1)
    project, hour = data["project"], data["hour"]
    counting = rollup_counts.segments_count
    with_segments, without, stored = [], [], []
    for _ in range(args.rounds):
        for switched_off in (False, True):
            rollup_counts.segments_count = (lambda **_: None) if switched_off else counting
            started = time.perf_counter()
            rows = rollup_hour_compute(project_id=project.id, hour=hour)
            (without if switched_off else with_segments).append(time.perf_counter() - started)
            stored = stored if switched_off else rows
    rollup_counts.segments_count = counting
    segment_bytes = sum(len(orjson.dumps(r["segment_counts"])) for r in stored)
    other_bytes = sum(
        len(orjson.dumps({k: v for k, v in r.items() if k not in ("segment_counts", "hour")}))
        for r in stored
    )
    entries = sum(len(values) for r in stored for values in r["segment_counts"].values())
    result = {
        "machine": machine(),
        "predictions": data["predictions"],
        "keys": METADATA_KEYS,
        "load_seconds": loaded,
        "hour_recount_seconds_with_segments": [round(s, 2) for s in with_segments],
        "hour_recount_seconds_without": [round(s, 2) for s in without],
        "ratio_median": round(statistics.median(with_segments) / statistics.median(without), 2),
        "rows_per_hour": len(stored),
        "segment_entries_per_hour": entries,
        "segment_json_bytes_per_hour": segment_bytes,
        "other_json_bytes_per_hour": other_bytes,
    }
    report(result, args.json)


if __name__ == "__main__":
    main()
