"""The hourly rollups against a raw recount, and their incremental, idempotent upkeep."""

from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards import metrics
from dashboards.models import (
    MetricRollup,
    MetricRollupDay,
    MetricRollupWeek,
    RollupCursor,
    RollupDirtyHour,
)
from dashboards.services.rollups import (
    hour_floor,
    rollup_day_hours_refresh,
    rollup_pass,
    rollup_rebuild,
)
from feedback.models import Feedback, Prediction
from tests.factories import FeedbackFactory, PredictionFactory, ProjectFactory

from .conftest import T0, make_traffic

FIELDS = [
    "predictions",
    "feedback_predictions",
    "corrections",
    "complaints",
    "ratings_up",
    "ratings_down",
    "label_counts",
    "corrected_pairs",
    "confidence_predictions",
    "confidence_corrections",
    "latency_sketch",
    "latency_count",
    "peak_per_second",
]


def raw_recount(project) -> dict:
    """What the rollups must say, counted naively row by row in Python."""
    rows = defaultdict(
        lambda: {
            "predictions": 0,
            "feedback_predictions": 0,
            "corrections": 0,
            "complaints": 0,
            "ratings_up": 0,
            "ratings_down": 0,
            "label_counts": Counter(),
            "corrected_pairs": defaultdict(Counter),
            "confidence_predictions": [0] * metrics.CONFIDENCE_BINS,
            "confidence_corrections": [0] * metrics.CONFIDENCE_BINS,
            "latency_sketch": Counter(),
            "latency_count": 0,
            "latency_sum_ms": 0.0,
            "per_second": Counter(),
        }
    )
    predictions = {p.id: p for p in Prediction.objects.filter(project=project)}
    for p in predictions.values():
        r = rows[(p.model_version.version, hour_floor(p.served_at))]
        r["predictions"] += 1
        r["label_counts"][p.predicted_label] += 1
        r["per_second"][p.served_at.replace(microsecond=0)] += 1
        if p.confidence is not None:
            r["confidence_predictions"][metrics.confidence_bin(p.confidence)] += 1
        if p.latency_ms is not None:
            r["latency_sketch"][str(metrics.latency_bucket(p.latency_ms))] += 1
            r["latency_count"] += 1
            r["latency_sum_ms"] += p.latency_ms
    current = Feedback.objects.filter(project=project, superseded_at__isnull=True)
    with_feedback, corrected = set(), {}
    for f in current.order_by("id"):
        if f.prediction_id is None:
            rows[(None, hour_floor(f.created_at))]["complaints"] += 1
            continue
        p = predictions[f.prediction_id]
        r = rows[(p.model_version.version, hour_floor(p.served_at))]
        with_feedback.add(p.id)
        if f.kind == "correction":
            corrected[p.id] = f.corrected_label
        elif f.kind == "complaint":
            r["complaints"] += 1
        elif f.rating == 1:
            r["ratings_up"] += 1
        else:
            r["ratings_down"] += 1
    for pid in with_feedback:
        p = predictions[pid]
        rows[(p.model_version.version, hour_floor(p.served_at))]["feedback_predictions"] += 1
    for pid, label in corrected.items():
        p = predictions[pid]
        r = rows[(p.model_version.version, hour_floor(p.served_at))]
        r["corrections"] += 1
        r["corrected_pairs"][p.predicted_label][label] += 1
        if p.confidence is not None:
            r["confidence_corrections"][metrics.confidence_bin(p.confidence)] += 1
    out = {}
    for key, r in rows.items():
        r["peak_per_second"] = max(r.pop("per_second").values(), default=0)
        r["label_counts"] = dict(r["label_counts"])
        r["corrected_pairs"] = {k: dict(v) for k, v in r["corrected_pairs"].items()}
        r["latency_sketch"] = dict(r["latency_sketch"])
        out[key] = r
    return out


def rollup_rows(project) -> dict:
    return {
        (r.model_version.version if r.model_version else None, r.hour): r
        for r in MetricRollup.objects.filter(project=project).select_related("model_version")
    }


def assert_rollups_match_raw(project):
    expected, actual = raw_recount(project), rollup_rows(project)
    assert set(actual) == set(expected)
    for key, want in expected.items():
        got = actual[key]
        for field in FIELDS:
            if key[0] is None and field != "complaints":
                continue  # the unlinked row carries complaints only
            assert getattr(got, field) == want[field], (key, field)
        assert got.latency_sum_ms == pytest.approx(want["latency_sum_ms"])
    assert_days_match(project, expected)


def _added(a, b):
    if isinstance(a, dict):
        return {k: _added(a.get(k, 0 if not isinstance(b.get(k), dict) else {}), b.get(k, 0))
                if k in b else a[k] for k in {**a, **b}}  # fmt: skip
    if isinstance(a, list):
        return [x + y for x, y in zip(a, b, strict=True)]
    return a + b


def assert_days_match(project, expected):
    """The daily rows are the raw recount summed per UTC day (the busiest second: the max)."""
    days: dict = {}
    for (version, hour), want in expected.items():
        key = (version, hour.replace(hour=0))
        if key not in days:
            days[key] = {**want, "active_hours": 1 if want["predictions"] else 0}
            continue
        day = days[key]
        for field in FIELDS:
            if field == "peak_per_second":
                day[field] = max(day[field], want[field])
            else:
                day[field] = _added(day[field], want[field])
        day["active_hours"] += 1 if want["predictions"] else 0
    actual = {
        (r.model_version.version if r.model_version else None, r.day): r
        for r in MetricRollupDay.objects.filter(project=project).select_related("model_version")
    }
    assert set(actual) == set(days)
    for key, want in days.items():
        fields = FIELDS + ["active_hours"] if key[0] else ["complaints"]
        for field in fields:
            got = getattr(actual[key], field)
            if field == "latency_sketch":
                got = {int(k): v for k, v in got.items()}
                want_value = {int(k): v for k, v in want[field].items()}
            else:
                want_value = want[field]
            assert got == want_value, (key, field)
    # Weekly rows: the daily ones added up per Monday-started week.
    weeks: dict = {}
    for (version, day), want in days.items():
        key = (version, day - timedelta(days=day.weekday()))
        week = weeks.setdefault(key, {"predictions": 0, "corrections": 0, "complaints": 0,
                                      "active_hours": 0, "label_counts": Counter()})  # fmt: skip
        for field in ("predictions", "corrections", "complaints", "active_hours"):
            week[field] += want.get(field, 0)
        week["label_counts"].update(want.get("label_counts") or {})
    actual_weeks = {
        (r.model_version.version if r.model_version else None, r.week): r
        for r in MetricRollupWeek.objects.filter(project=project).select_related("model_version")
    }
    assert set(actual_weeks) == set(weeks)
    for key, want in weeks.items():
        got = actual_weeks[key]
        assert got.complaints == want["complaints"], key
        if key[0]:
            assert [got.predictions, got.corrections, got.active_hours] == [
                want["predictions"],
                want["corrections"],
                want["active_hours"],
            ], key
            assert Counter(got.label_counts) == want["label_counts"], key


def test_a_pass_matches_a_raw_recount(traffic_project):
    result = rollup_pass()

    assert result.claimed and result.recomputed == 3 and result.remaining == 0
    assert_rollups_match_raw(traffic_project)
    rows = rollup_rows(traffic_project)
    # The fixture's burst: eight predictions served in one second of the first hour.
    assert max(r.peak_per_second for r in rows.values()) >= 4
    assert rows[(None, T0)].complaints == 2


def test_rerunning_hours_gives_the_same_rows(traffic_project):
    rollup_pass()
    before = {k: [getattr(r, f) for f in FIELDS] for k, r in rollup_rows(traffic_project).items()}

    assert rollup_pass().recomputed == 3  # the overlap pass looks at the same ids again
    assert rollup_pass().recomputed == 0  # and then nothing is left to do
    assert rollup_rebuild(project=traffic_project) == 3
    assert rollup_pass().recomputed == 3

    after = {k: [getattr(r, f) for f in FIELDS] for k, r in rollup_rows(traffic_project).items()}
    assert after == before


def test_late_feedback_updates_the_hour_of_its_prediction(traffic_project):
    rollup_pass()
    rollup_pass()
    prediction = (
        Prediction.objects.filter(project=traffic_project, feedback__isnull=True)
        .order_by("id")
        .first()
    )
    hour = hour_floor(prediction.served_at)
    version = prediction.model_version.version
    before = rollup_rows(traffic_project)[(version, hour)].corrections
    FeedbackFactory(prediction=prediction, created_at=timezone.now(), corrected_label="x_label")

    assert rollup_pass().recomputed == 1
    assert rollup_rows(traffic_project)[(version, hour)].corrections == before + 1
    assert_rollups_match_raw(traffic_project)


def test_a_superseded_correction_stops_counting(traffic_project):
    rollup_pass()
    rollup_pass()
    correction = Feedback.objects.filter(
        project=traffic_project, kind="correction", superseded_at__isnull=True
    ).first()
    Feedback.objects.filter(id=correction.id).update(superseded_at=timezone.now())

    assert rollup_pass().recomputed == 1
    assert_rollups_match_raw(traffic_project)


def test_a_row_committed_late_with_a_smaller_id_is_still_counted(db):
    project = ProjectFactory()
    early = PredictionFactory(project=project, served_at=T0)
    PredictionFactory(project=project, served_at=T0, id=early.id + 100)
    rollup_pass()
    # A concurrent transaction took id + 50 before and commits only now.
    PredictionFactory(project=project, served_at=T0 + timedelta(hours=5), id=early.id + 50)

    rollup_pass()

    assert_rollups_match_raw(project)
    assert sum(r.predictions for r in rollup_rows(project).values()) == 3


def test_hours_whose_traffic_is_gone_lose_their_rows(traffic_project):
    rollup_pass()
    Feedback.objects.filter(project=traffic_project).delete()
    Prediction.objects.filter(
        project=traffic_project, served_at__lt=T0 + timedelta(hours=1)
    ).delete()

    rollup_rebuild(project=traffic_project)
    rollup_pass()

    assert_rollups_match_raw(traffic_project)
    assert not MetricRollup.objects.filter(project=traffic_project, hour=T0).exists()


def test_a_pass_does_not_run_while_another_holds_the_claim(traffic_project):
    RollupCursor.objects.create(claimed_until=timezone.now() + timedelta(minutes=5))

    assert rollup_pass().claimed is False
    assert not MetricRollup.objects.exists()

    RollupCursor.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert rollup_pass().claimed is True  # a dead pass's claim expires


def test_hours_left_over_by_the_time_budget_are_done_by_the_next_pass(traffic_project):
    first = rollup_pass(time_budget=-1)

    assert first.recomputed == 0 and first.remaining == 3
    assert RollupDirtyHour.objects.count() == 3
    rollup_pass()
    assert not RollupDirtyHour.objects.exists()
    assert_rollups_match_raw(traffic_project)


def test_hours_across_midnight_are_recounted_a_day_at_a_time(db):
    project = ProjectFactory()
    make_traffic(project, n=300, start=T0.replace(hour=21), hours=6)

    result = rollup_pass()

    assert result.recomputed == 6 and result.remaining == 0
    assert_rollups_match_raw(project)  # hours, and both days folded from them
    assert MetricRollupDay.objects.filter(project=project).values("day").distinct().count() == 2


def test_a_time_limit_ends_a_days_transaction_after_its_first_hour(traffic_project):
    rollup_pass(time_budget=0)  # marks the fixture's three hours
    hours = sorted(RollupDirtyHour.objects.values_list("hour", flat=True))

    done, written = rollup_day_hours_refresh(
        project_id=traffic_project.id, hours=hours, time_limit=0
    )

    assert done == 1 and written > 0
    assert sorted(RollupDirtyHour.objects.values_list("hour", flat=True)) == hours[1:]
    assert set(MetricRollup.objects.values_list("hour", flat=True)) == {hours[0]}


def test_projects_are_rolled_up_apart(traffic_project):
    other = ProjectFactory()
    make_traffic(other, n=90, seed=7)

    rollup_pass()

    assert_rollups_match_raw(traffic_project)
    assert_rollups_match_raw(other)


def test_the_beat_schedule_runs_the_rollup_task(settings):
    from dashboards import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["dashboards-rollup"]
    # Through core.periodic, which starts it once per period (tests/core/test_periodic.py).
    assert entry["task"] == "core.periodic"
    assert entry["args"][0] == tasks.rollup.name == "dashboards.rollup"


@pytest.mark.parametrize(
    "since_h, until_h",
    [(0, 72), (5, 50), (15, 20), (-30, 200), (24 - 9, 48 - 9), (-24 * 9, 24 * 9)],
)
def test_a_period_reads_whole_days_from_daily_rows_and_the_ends_from_hours(
    project, since_h, until_h, django_assert_max_num_queries
):
    from dashboards.selectors import metrics_series, rollup_rows

    # Monday 3 March 2025, 09:00 to Wednesday evening; then the Monday and Tuesday after.
    make_traffic(project, n=900, hours=60)
    make_traffic(project, n=300, hours=40, seed=3, start=T0 + timedelta(days=7))
    rollup_pass()
    since, until = T0 + timedelta(hours=since_h), T0 + timedelta(hours=until_h)
    hourly = MetricRollup.objects.filter(
        project=project, model_version__isnull=False, hour__gte=since, hour__lt=until
    )
    for weeks in (False, True):
        with django_assert_max_num_queries(3):
            rows = rollup_rows(
                project=project, fields=["predictions", "corrections", "label_counts"],
                since=since, until=until, weeks=weeks,
            )  # fmt: skip
        assert sum(r["predictions"] for r in rows) == sum(
            hourly.values_list("predictions", flat=True)
        )
        assert sum(r["corrections"] for r in rows) == sum(
            hourly.values_list("corrections", flat=True)
        )
        assert sum(r["active_hours"] for r in rows) == hourly.filter(predictions__gt=0).count()
        labels = Counter()
        for r in rows:
            labels.update(r["label_counts"])
        want = Counter()
        for counts in hourly.values_list("label_counts", flat=True):
            want.update(counts)
        assert labels == want
    for bucket in ("day", "week"):
        series = metrics_series(project=project, since=since, until=until, bucket=bucket)
        assert sum(r["predictions"] for r in series) == sum(r["predictions"] for r in rows)
