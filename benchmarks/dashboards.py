"""The online quality dashboards on a year-sized project: page and API server time, rollup passes.

    python benchmarks/dashboards.py --predictions 2000000 --feedback 200000

Generates (with COPY) a project with 2,000,000 predictions over a year and two model versions
(77 labels, confidences, latencies, metadata of six keys with 3 to 500 values and a request
id) and 200,000 feedback items about them, builds the rollups
from scratch, then:

1. renders the overview page /p/<slug>/quality/ (with its Segments section) and calls the
   metrics and segments APIs through Django's
   full request stack in-process, N times each, for periods of 28 days, 90 days and a year,
   and reports median and p95 server time. Baseline in the same run: the raw-scan query the
   rollups replace (correction rate per day and version for the period, straight from the
   prediction and feedback tables);
2. adds an hour of traffic at 1,000 predictions/s (3,600,000 predictions, 1 % of them
   corrected) and times the incremental rollup pass that follows, and a pass with nothing new.
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
from benchmarks.pages import copy_rows  # noqa: E402

LABELS = [f"intent_{i:02d}" for i in range(77)]
PREDICTION_COLUMNS = [
    "project_id", "model_version_id", "request_id", "input_text", "predicted_label",
    "confidence", "latency_ms", "served_at", "metadata", "customer_hash", "received_at",
]  # fmt: skip
FEEDBACK_COLUMNS = [
    "project_id", "prediction_id", "predicted_label", "model_version_id", "kind", "text",
    "corrected_label", "rating", "source", "customer_hash", "created_at", "received_at",
    "triage_state", "dedup_key", "repeat_count",
]  # fmt: skip


# key -> number of values; Zipf-like traffic over the values.
METADATA_KEYS = {
    "channel": 3,
    "locale": 5,
    "tier": 4,
    "app_version": 20,
    "country": 60,
    "store": 500,
}


def metadata_rows(rng, n: int):
    columns = {
        key: np.minimum(rng.zipf(1.6, n) - 1, size - 1) for key, size in METADATA_KEYS.items()
    }
    for i in range(n):
        yield orjson.dumps(
            {key: f"{key}-{int(columns[key][i])}" for key in METADATA_KEYS} | {"request": f"r{i}"}
        ).decode()


def _predictions(rng, n, start, span_seconds, versions, switch_at, prefix):
    offsets = np.sort(rng.uniform(0, span_seconds, n))
    labels = rng.zipf(1.3, n) % len(LABELS)
    confidence = np.round(rng.beta(5, 2, n), 3)
    latency = np.round(rng.lognormal(3.6, 0.35, n), 1)
    metadata = metadata_rows(rng, n)
    for i in range(n):
        served = start + timedelta(seconds=float(offsets[i]))
        version = versions[0] if served < switch_at else versions[1]
        yield (
            version.project_id, version.id, f"{prefix}{i:08d}", "query", LABELS[labels[i]],
            float(confidence[i]), float(latency[i]), served, next(metadata), "", served,
        )  # fmt: skip


def _feedback(rng, project_id, first_id, rows, n, versions, kinds_p):
    """n feedback items about random predictions among `rows` (id offset, label, version)."""
    chosen = rng.choice(len(rows), n, replace=False)
    kinds = rng.choice(["correction", "complaint", "rating"], n, p=kinds_p)
    for i, (p, kind) in enumerate(zip(chosen, kinds, strict=True)):
        label, version_id, served = rows[p]
        created = served + timedelta(minutes=10)
        yield (
            project_id, first_id + int(p), label, version_id, kind,
            f"complaint {i % 3000}" if kind == "complaint" else "",
            LABELS[(LABELS.index(label) + 1) % len(LABELS)] if kind == "correction" else "",
            -1 if kind == "rating" else None, "widget", "", created, created, "new", "", 1,
        )  # fmt: skip


def generate(n_predictions: int, n_feedback: int, seed: int = 0) -> dict:
    from django.db import connection, transaction

    from feedback.models import Membership, ModelVersion, Prediction
    from feedback.services import project_create
    from tests.factories import UserFactory

    rng = np.random.default_rng(seed)
    project = project_create(slug="big", name="Big project", labels=LABELS)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    start = end - timedelta(days=365)
    v1 = ModelVersion.objects.create(
        project=project, version="v1", released_at=start, offline_metrics={"accuracy": 0.91}
    )
    v2 = ModelVersion.objects.create(
        project=project,
        version="v2",
        released_at=start + timedelta(days=180),
        offline_metrics={"accuracy": 0.94},
    )
    user = UserFactory(username="bench")
    Membership.objects.create(project=project, user=user, role="admin", team="model")
    with transaction.atomic():
        copy_rows(
            "feedback_prediction",
            PREDICTION_COLUMNS,
            _predictions(rng, n_predictions, start, 365 * 86400, [v1, v2], v2.released_at, "r"),
        )
        rows = list(
            Prediction.objects.filter(project=project)
            .order_by("id")
            .values_list("predicted_label", "model_version_id", "served_at")
        )
        first_id = Prediction.objects.filter(project=project).order_by("id").first().id
        copy_rows(
            "feedback_feedback",
            FEEDBACK_COLUMNS,
            _feedback(rng, project.id, first_id, rows, n_feedback, [v1, v2], [0.4, 0.4, 0.2]),
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"project": project, "user": user, "versions": [v1, v2], "end": end}


def rollups_build(project) -> dict:
    from dashboards.models import MetricRollup
    from dashboards.services.rollups import rollup_pass, rollup_rebuild

    started = time.perf_counter()
    marked = rollup_rebuild(project=project)
    passes = 0
    while True:
        passes += 1
        result = rollup_pass(time_budget=3600)
        if not result.remaining:
            break
    # Steady state: passes run every minute, so the pass before the last one has already
    # seen every row (without this, the next pass would re-scan the whole year once more).
    from django.db.models import F

    from dashboards.models import RollupCursor

    RollupCursor.objects.update(
        prediction_id_before=F("prediction_id"), feedback_id_before=F("feedback_id")
    )
    return {
        "hours_marked": marked,
        "passes": passes,
        "seconds": round(time.perf_counter() - started, 1),
        "rollup_rows": MetricRollup.objects.filter(project=project).count(),
    }


def timed(call, repeats: int) -> dict:
    call()  # warm caches (templates, connection, plans)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(round(0.95 * len(times))) - 1)], 1),
    }


def raw_scan(project_id: int, since: datetime, until: datetime) -> None:
    """What the rollups replace: the correction rate per day and version straight from the
    raw tables (one grouped scan of the period's predictions joined to their corrections)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT date_trunc('day', p.served_at) AS day, p.model_version_id, count(*),
                   count(DISTINCT f.prediction_id)
            FROM feedback_prediction p
            LEFT JOIN feedback_feedback f
              ON f.prediction_id = p.id AND f.kind = 'correction' AND f.superseded_at IS NULL
            WHERE p.project_id = %s AND p.served_at >= %s AND p.served_at < %s
            GROUP BY 1, 2
            """,
            [project_id, since, until],
        )
        cursor.fetchall()


def hour_of_traffic(data: dict, per_second: int, seed: int = 1) -> dict:
    """An hour at `per_second` predictions/s (served in the hour after the year), 1 % of them
    corrected, then the rollup passes that pick it up."""
    from django.db import connection, transaction

    from dashboards.services.rollups import rollup_pass
    from feedback.models import Prediction

    rng = np.random.default_rng(seed)
    project, versions = data["project"], data["versions"]
    hour = data["end"]
    n = per_second * 3600
    started = time.perf_counter()
    with transaction.atomic():
        before = Prediction.objects.order_by("-id").values_list("id", flat=True).first()
        copy_rows(
            "feedback_prediction",
            PREDICTION_COLUMNS,
            _predictions(rng, n, hour, 3600, [versions[1], versions[1]], hour, "h"),
        )
        rows = list(
            Prediction.objects.filter(id__gt=before)
            .order_by("id")
            .values_list("predicted_label", "model_version_id", "served_at")
        )
        copy_rows(
            "feedback_feedback",
            FEEDBACK_COLUMNS,
            _feedback(rng, project.id, before + 1, rows, n // 100, versions, [1.0, 0.0, 0.0]),
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feedback_prediction")
        cursor.execute("ANALYZE feedback_feedback")
    loaded = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    first = rollup_pass(time_budget=3600)
    first_seconds = round(time.perf_counter() - started, 2)
    # The pass after re-scans the id range of the previous one (late commits), recounting
    # the hours it finds again.
    started = time.perf_counter()
    second = rollup_pass(time_budget=3600)
    second_seconds = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    third = rollup_pass(time_budget=3600)
    idle_seconds = round(time.perf_counter() - started, 2)
    return {
        "predictions": n,
        "corrections": n // 100,
        "load_seconds": loaded,
        "first_pass_seconds": first_seconds,
        "first_pass_hours_recomputed": first.recomputed,
        "second_pass_seconds": second_seconds,
        "second_pass_hours_recomputed": second.recomputed,
        "idle_pass_seconds": idle_seconds,
        "idle_pass_hours_recomputed": third.recomputed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictions", type=int, default=2_000_000)
    parser.add_argument("--feedback", type=int, default=200_000)
    parser.add_argument("--per-second", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    django_setup(fresh_database("voc_bench_dashboards"))
    from django.test import Client

    from feedback.services import api_key_create

    started = time.perf_counter()
    data = generate(args.predictions, args.feedback)
    generated = round(time.perf_counter() - started, 1)
    build = rollups_build(data["project"])

    project, end = data["project"], data["end"]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(data["user"])
    _, key = api_key_create(project=project, scopes=["read"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def get(url, **headers):
        def call():
            response = client.get(url, **headers)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return call

    results = {}
    for days, label in ((28, "28 days"), (90, "90 days"), (365, "a year")):
        since = end - timedelta(days=days)
        results[f"overview page, {label}"] = timed(
            get(f"/p/{project.slug}/quality/?period={days}"), args.repeats
        )
        if days == 365:
            results["overview page, a year, per day"] = timed(
                get(f"/p/{project.slug}/quality/?period=365&bucket=day"), args.repeats
            )
        window = f"since={since.isoformat()}&until={end.isoformat()}".replace("+", "%2B")
        bucket = "week" if days == 365 else "day"
        results[f"metrics API, {label}, per {bucket}"] = timed(
            get(f"/api/v1/projects/{project.slug}/metrics?bucket={bucket}&{window}", **auth),
            args.repeats,
        )
        results[f"segments API, {label}"] = timed(
            get(f"/api/v1/projects/{project.slug}/segments?{window}", **auth), args.repeats
        )
        results[f"baseline: raw scan, {label}"] = timed(
            lambda since=since: raw_scan(project.id, since, end), max(3, args.repeats // 6)
        )
    year_api = f"/api/v1/projects/{project.slug}/metrics?bucket=day"
    results["metrics API, everything, per day"] = timed(get(year_api, **auth), args.repeats)
    traffic = hour_of_traffic(data, args.per_second)
    figures = {
        "predictions": args.predictions,
        "feedback": args.feedback,
        "generation_seconds": generated,
        "rollup_build": build,
        "repeats": args.repeats,
        "requests": results,
        "hour_of_traffic": traffic,
        "machine": machine(),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
