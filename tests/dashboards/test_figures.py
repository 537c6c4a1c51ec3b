"""The quality page's figures on counts given by hand (no database): the threshold the explorer
suggests, and the buckets a period holds only part of."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from dashboards import metrics
from dashboards.quality import figures
from dashboards.quality.folds import BucketShares, Totals, bucket_partial

V1 = SimpleNamespace(id=1, version="v1", offline_metrics={})


def totals_with(bins: dict[float, tuple[int, int]]) -> Totals:
    """Totals whose confidence histogram has (predictions, corrections) at these confidences."""
    totals = Totals()
    for confidence, (n, k) in bins.items():
        totals.conf_n[metrics.confidence_bin(confidence)] += n
        totals.conf_k[metrics.confidence_bin(confidence)] += k
    return totals


def suggestion(bins, target=0.05) -> dict:
    (found,) = figures.reliability([V1], {1: totals_with(bins)}, target)
    return found["thresholds"]


def test_a_single_confident_prediction_suggests_no_threshold():
    # What the page used to say: "a threshold of 0.00, 100 % answered automatically".
    assert suggestion({0.97: (1, 0)})["suggested"] is None


def test_a_threshold_needs_its_upper_bound_within_the_target():
    # 150 answers at 0.9, 3 corrected: 2 % but up to 5.7 % at 95 %: not within 5 %.
    assert suggestion({0.3: (50, 20), 0.9: (150, 3)})["suggested"] is None
    # 600 answers at 0.9, 6 corrected: 1 %, at most 2.2 %: suggested, with its interval.
    found = suggestion({0.3: (50, 20), 0.9: (600, 6)})
    assert found["suggested"] == pytest.approx(0.35)
    assert found["predictions_answered"] == 600
    low, high = found["ci_answered"]
    assert low < 0.01 < high < 0.05


T = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("start", "bucket", "since", "until", "partial"),
    [
        (T, "day", T, datetime(2025, 3, 4, tzinfo=UTC), False),
        (T, "day", T, datetime(2025, 3, 3, 15, tzinfo=UTC), True),  # the day still going on
        (T, "day", datetime(2025, 3, 3, 9, tzinfo=UTC), None, True),  # cut by the start
        (T, "week", T, datetime(2025, 3, 10, tzinfo=UTC), False),
        (T, "week", T, datetime(2025, 3, 9, tzinfo=UTC), True),
    ],
)
def test_a_bucket_is_partial_when_the_period_cuts_it(start, bucket, since, until, partial):
    assert bucket_partial(start, bucket, since, until) is partial


def test_a_partial_day_is_not_flagged_for_collapse_or_scored_for_drift():
    # Two whole days like the reference, and a last day cut at 15:00 that one label took.
    reference = Totals()
    reference.labels = {"a": 50, "b": 50}
    rows = [
        {"hour": datetime(2025, 3, d, 12, tzinfo=UTC), "model_version_id": 1,
         "predictions": 100, "label_counts": labels}
        for d, labels in ((3, {"a": 50, "b": 50}), (4, {"a": 48, "b": 52}), (5, {"a": 100}))
    ]  # fmt: skip
    cells = BucketShares(rows, "day", since=T, until=datetime(2025, 3, 5, 15, tzinfo=UTC))
    references = {1: (reference, "the reference")}

    collapse = figures.collapse([V1], cells, references, {1: "v1"})
    drift = figures.drift([V1], cells, references, {1: "v1"})

    last = collapse["buckets"][-1]
    assert last["partial"] and last["share"] == 1.0 and not last["flagged"]
    assert [d["start"].day for d in drift] == [3, 4]


def test_the_confusion_grid_holds_the_pairs_that_carry_corrections():
    # Two strong confusions, and 60 corrections scattered one by one over 60 other labels:
    # a grid of the labels "most involved" would be mostly zeros and (other).
    totals = Totals()
    totals.pairs = {"card_arrival": {"card_delivery_estimate": 30, "lost_card": 5}}
    totals.pairs["top_up_failed"] = {"top_up_reverted": 20}
    for i in range(60):
        totals.pairs.setdefault(f"label_{i:02d}", {})[f"other_{i:02d}"] = 1

    grid = figures.confusion({1: totals}, categories={})

    assert grid["rows"][:2] == ["card_arrival", "top_up_failed"]
    assert grid["columns"][:3] == ["card_delivery_estimate", "top_up_reverted", "lost_card"]
    assert grid["matrix"]["card_arrival"]["card_delivery_estimate"] == 30
    # The columns are full first (3 + 5 scattered labels); every row shown has all its
    # corrections in them, so no (other) column.
    assert len(grid["columns"]) == figures.CONFUSION_TOP_LABELS
    assert len(grid["rows"]) == 2 + 5 and figures.OTHER not in grid["columns"]
    assert grid["total"] == 115 and grid["shown"] == 30 + 5 + 20 + 5
    assert figures.OTHER not in grid["rows"]
