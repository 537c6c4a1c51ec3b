"""Segment counts of the rollups (per metadata value and pair of values) against a naive count
in Python, their bounds, and their fold into days."""

import random
from collections import defaultdict
from datetime import timedelta
from itertools import combinations

import pytest

from dashboards.models import DashboardSettings, MetricRollup, MetricRollupDay
from dashboards.services import rollup_segments
from dashboards.services.rollup_segments import OTHER, SEPARATOR
from dashboards.services.rollups import rollup_pass, rollup_rebuild
from feedback.models import Feedback, Prediction
from tests.factories import FeedbackFactory, ModelVersionFactory, PredictionFactory

from .conftest import T0

pytestmark = pytest.mark.django_db

CHANNELS = ["app", "web", "kiosk"]


def segmented_traffic(project, n: int = 120, seed: int = 3) -> None:
    """Two versions over three hours; metadata with strings, numbers, booleans, a nested
    object (not a segment), an id (ignored by the project's setting) and a wide key."""
    rng = random.Random(seed)
    versions = [ModelVersionFactory(project=project, version=v) for v in ("v1", "v2")]
    DashboardSettings.objects.create(project=project, segment_ignore_keys=["session"])
    for i in range(n):
        metadata = {
            "channel": rng.choice(CHANNELS),
            "locale": rng.choice(["en", "ko"]),
            "tier": rng.choice([1, 2]),
            "beta": rng.choice([True, False]),
            "device": {"os": "ios"},
            "session": f"s-{i}",
            "page": f"p{rng.randrange(12)}",
        }
        if i % 17 == 0:
            metadata = {}
        prediction = PredictionFactory(
            project=project,
            model_version=versions[i % 2],
            served_at=T0 + timedelta(minutes=i * 90 // n * 2),
            metadata=metadata,
        )
        roll = rng.random()
        if roll < 0.3:
            FeedbackFactory(prediction=prediction, kind="correction")
            if roll < 0.05:  # corrected twice: one prediction corrected
                FeedbackFactory(prediction=prediction, kind="correction", corrected_label="x")
        elif roll < 0.4:
            FeedbackFactory(prediction=prediction, kind="complaint", corrected_label="", text="!")
        elif roll < 0.5:
            rating = rng.choice([1, -1])
            FeedbackFactory(prediction=prediction, kind="rating", corrected_label="", rating=rating)
    # A superseded correction no longer counts.
    first = Feedback.objects.filter(project=project, kind="correction").order_by("id").first()
    first.superseded_at = first.created_at
    first.save()


def naive_segments(project) -> dict:
    """(version, hour) -> key -> value -> [predictions, corrections, complaints, up, down]."""
    out = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: [0] * 5)))
    for p in (
        Prediction.objects.filter(project=project)
        .select_related("model_version")
        .prefetch_related("feedback")
    ):
        current = [f for f in p.feedback.all() if f.superseded_at is None]
        figures = [
            1,
            int(any(f.kind == "correction" for f in current)),
            sum(f.kind == "complaint" for f in current),
            sum(f.kind == "rating" and f.rating == 1 for f in current),
            sum(f.kind == "rating" and f.rating == -1 for f in current),
        ]
        values = {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in p.metadata.items()
            if not isinstance(value, dict | list) and key != "session"
        }
        hour = p.served_at.replace(minute=0, second=0, microsecond=0)
        segments = out[(p.model_version.version, hour)]
        for key, value in values.items():
            segments[key][value] = [
                a + b for a, b in zip(segments[key][value], figures, strict=True)
            ]
        for a, b in combinations(sorted(k for k in values if k in PAIRED), 2):
            pair = segments[a + SEPARATOR + b][values[a] + SEPARATOR + values[b]]
            segments[a + SEPARATOR + b][values[a] + SEPARATOR + values[b]] = [
                x + y for x, y in zip(pair, figures, strict=True)
            ]
    return {k: {key: dict(v) for key, v in seg.items()} for k, seg in out.items()}


# Keys with at most PAIR_MAX_VALUES values ("page" has 12): their pairs are counted.
PAIRED = {"channel", "locale", "tier", "beta"}


def stored_segments(project) -> dict:
    return {
        (r.model_version.version, r.hour): r.segment_counts
        for r in MetricRollup.objects.filter(
            project=project, model_version__isnull=False
        ).select_related("model_version")
    }


def assert_segments_match(project) -> None:
    want, got = naive_segments(project), stored_segments(project)
    assert set(got) == set(want)
    for key, segments in want.items():
        assert got[key] == segments, key


def test_segment_counts_match_a_naive_count_and_stay_on_a_rerun(project):
    segmented_traffic(project)

    rollup_pass()
    assert_segments_match(project)
    one_hour = next(iter(stored_segments(project).values()))
    assert "device" not in one_hour and "session" not in one_hour
    assert "page" in one_hour and f"beta{SEPARATOR}channel" in one_hour
    assert not any(SEPARATOR in key and "page" in key for key in one_hour)

    rollup_rebuild(project=project)
    rollup_pass()
    assert_segments_match(project)


def test_a_key_with_many_values_keeps_its_busiest_and_counts_the_rest_as_other(
    project, monkeypatch
):
    monkeypatch.setattr(rollup_segments, "MAX_VALUES", 3)
    version = ModelVersionFactory(project=project, version="v1")
    for i, page in enumerate(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"]):
        PredictionFactory(
            project=project, model_version=version, served_at=T0 + timedelta(seconds=i),
            metadata={"page": page},
        )  # fmt: skip

    rollup_pass()

    counts = MetricRollup.objects.get(project=project, model_version=version).segment_counts
    assert {value: figures[0] for value, figures in counts["page"].items()} == {
        "a": 5, "b": 4, "c": 3, OTHER: 3,
    }  # fmt: skip
    assert "page" not in {k for key in counts for k in key.split(SEPARATOR) if SEPARATOR in key}


def test_a_day_adds_up_its_hours_segments(project):
    segmented_traffic(project)

    rollup_pass()

    day = MetricRollupDay.objects.get(project=project, model_version__version="v1")
    hours = MetricRollup.objects.filter(project=project, model_version__version="v1")
    want: dict = {}
    for hour in hours:
        for key, by_value in hour.segment_counts.items():
            for value, figures in by_value.items():
                now = want.setdefault(key, {}).setdefault(value, [0] * 5)
                want[key][value] = [a + b for a, b in zip(now, figures, strict=True)]
    assert day.segment_counts == want
    assert sum(f[0] for f in day.segment_counts["channel"].values()) == sum(
        h.predictions for h in hours
    ) - sum(
        1
        for p in Prediction.objects.filter(project=project, model_version__version="v1")
        if not p.metadata
    )


def test_the_bound_of_a_long_span_folds_the_rarest_values_into_other():
    segments = {"page": {f"p{i}": [10 - i, 1, 0, 0, 0] for i in range(6)}}
    segments["page"][OTHER] = [4, 2, 0, 0, 0]

    rollup_segments.segments_bound(segments, limit=3)

    assert segments["page"] == {"p0": [10, 1, 0, 0, 0], "p1": [9, 1, 0, 0, 0],
                                OTHER: [8 + 7 + 6 + 5 + 4, 6, 0, 0, 0]}  # fmt: skip


def test_an_hour_swept_by_retention_keeps_its_segment_predictions_and_recounts_feedback(project):
    segmented_traffic(project)
    rollup_pass()
    before = stored_segments(project)
    # Retention deletes the predictions without feedback and says so on the project.
    Prediction.objects.filter(project=project, feedback__isnull=True).delete()
    project.predictions_swept_before = T0 + timedelta(days=1)
    project.save()
    kept = Prediction.objects.filter(project=project).exclude(metadata={}).first()
    FeedbackFactory(prediction=kept, kind="complaint", corrected_label="", text="again")

    rollup_pass()

    after = stored_segments(project)
    hour = (kept.model_version.version, kept.served_at.replace(minute=0, second=0, microsecond=0))
    channel = kept.metadata["channel"]
    assert after[hour]["channel"][channel][0] == before[hour]["channel"][channel][0]
    assert after[hour]["channel"][channel][2] == before[hour]["channel"][channel][2] + 1
    for key, segments in before.items():  # predictions per segment: as counted before
        assert {
            (k, v): figures[0] for k, by in after[key].items() for v, figures in by.items()
        } == {(k, v): figures[0] for k, by in segments.items() for v, figures in by.items()}
