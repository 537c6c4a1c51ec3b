"""The metric functions against values computed by hand (shown in the comments)."""

import math

import numpy as np
import pytest

from dashboards import metrics


def test_a_rate_without_denominator_is_unknown_not_zero():
    assert metrics.rate(3, 12) == 0.25
    assert metrics.rate(0, 0) is None


def test_wilson_interval_of_10_in_100():
    # p = 0.1, z² = 3.8415; centre = (0.1 + z²/200) / (1 + z²/100) = 0.114798;
    # half = z·sqrt(0.0009 + z²/40000) / (1 + z²/100) = 0.059569
    lo, hi = metrics.wilson_interval(10, 100)
    assert lo == pytest.approx(0.055229, abs=1e-5)
    assert hi == pytest.approx(0.174367, abs=1e-5)


def test_wilson_interval_at_zero_and_at_all():
    # k = 0: [0, z² / (n + z²)] = [0, 3.8415 / 13.8415] = [0, 0.27753]
    lo, hi = metrics.wilson_interval(0, 10)
    assert lo == 0
    assert hi == pytest.approx(0.27753, abs=1e-5)
    lo, hi = metrics.wilson_interval(10, 10)
    assert (lo, hi) == (pytest.approx(1 - 0.27753, abs=1e-5), pytest.approx(1.0))
    assert metrics.wilson_interval(0, 0) is None


def test_wilson_interval_narrows_with_volume():
    small = metrics.wilson_interval(5, 50)
    large = metrics.wilson_interval(500, 5000)
    assert small[1] - small[0] > 3 * (large[1] - large[0])


def test_psi_of_a_half_half_split_moving_to_a_quarter():
    # (0.25 - 0.5)·ln(0.25/0.5) + (0.75 - 0.5)·ln(0.75/0.5) = 0.173287 + 0.101366
    assert metrics.psi([50, 50], [25, 75]) == pytest.approx(0.274653, abs=1e-6)
    assert metrics.psi_band(0.274653) == "significant"


def test_psi_is_zero_for_the_same_shares_and_unknown_without_data():
    assert metrics.psi([10, 30, 60], [1, 3, 6]) == pytest.approx(0.0)
    assert metrics.psi([0, 0], [1, 2]) is None
    with pytest.raises(ValueError):
        metrics.psi([1, 2], [1, 2, 3])


def test_psi_gives_an_empty_bin_a_small_share():
    # expected (1, 0.0001), actual (0.9, 0.1):
    # (0.9 - 1)·ln(0.9) + (0.1 - 0.0001)·ln(0.1 / 0.0001) = 0.0105361 + 0.6900848
    assert metrics.psi([100, 0], [90, 10]) == pytest.approx(0.7006208, abs=1e-6)


def test_psi_of_many_rows_at_once_equals_psi_row_by_row():
    rng = np.random.default_rng(0)
    expected = rng.integers(0, 50, 20)
    expected[3] = 0  # an empty bin on the reference side
    actual = rng.integers(0, 50, (40, 20))
    actual[5] = 0  # a bucket without data
    actual[7, :10] = 0  # empty bins on the bucket side
    values = metrics.psi_rows(expected.tolist(), actual)
    # Exactly the same floats, not just close: the page's figures must not move.
    assert values == [metrics.psi(expected.tolist(), row) for row in actual.tolist()]
    assert values[5] is None and all(v is not None for i, v in enumerate(values) if i != 5)
    assert metrics.psi_rows([0, 0], np.array([[1, 2]])) == [None]
    assert metrics.psi_rows([1, 2], np.zeros((0, 2), dtype=int)) == []
    with pytest.raises(ValueError):
        metrics.psi_rows([1, 2], np.array([[1, 2, 3]]))


def test_psi_of_label_mappings_uses_the_union_of_labels():
    assert metrics.psi_of_mappings({"a": 50, "b": 50}, {"a": 25, "b": 75}) == pytest.approx(
        0.274653, abs=1e-6
    )
    assert metrics.psi_of_mappings({"a": 10}, {"a": 9, "b": 1}) == pytest.approx(
        metrics.psi([10, 0], [9, 1])
    )


@pytest.mark.parametrize(
    ("value", "band"),
    [(0.05, "stable"), (0.1, "moderate"), (0.2, "moderate"), (0.25, "significant"), (None, "")],
)
def test_psi_bands(value, band):
    assert metrics.psi_band(value) == band


def test_confidence_bins_cover_zero_to_one_inclusive():
    assert metrics.confidence_bin(0.0) == 0
    assert metrics.confidence_bin(0.049) == 0
    assert metrics.confidence_bin(0.05) == 1
    assert metrics.confidence_bin(1.0) == metrics.CONFIDENCE_BINS - 1


def test_reliability_rows_skip_empty_bins_and_carry_intervals():
    rows = metrics.reliability([10, 0, 40, 50], [5, 0, 8, 2])
    assert [(r["bin_low"], r["bin_high"]) for r in rows] == [(0, 0.25), (0.5, 0.75), (0.75, 1)]
    assert [r["correction_rate"] for r in rows] == [0.5, 0.2, 0.04]
    assert rows[2]["expected_rate"] == pytest.approx(0.125)
    assert rows[0]["ci"] == metrics.wilson_interval(5, 10)


def test_threshold_table_by_hand():
    # bins [0, 1/3), [1/3, 2/3), [2/3, 1]: predictions 10, 30, 60; corrections 5, 6, 3
    rows = metrics.threshold_table([10, 30, 60], [5, 6, 3])
    assert [r["threshold"] for r in rows] == [0, pytest.approx(1 / 3), pytest.approx(2 / 3)]
    assert [r["share_above"] for r in rows] == [1.0, 0.9, 0.6]
    assert [r["correction_rate_above"] for r in rows] == [
        pytest.approx(0.14),
        pytest.approx(0.1),
        pytest.approx(0.05),
    ]
    assert [r["share_below"] for r in rows] == [0.0, pytest.approx(0.1), pytest.approx(0.4)]
    assert [r["corrections_below"] for r in rows] == [0, 5, 11]


def test_latency_sketch_round_trips_within_its_precision():
    for value in (0.5, 3.0, 47.0, 250.0, 12_000.0):
        estimate = metrics.latency_bucket_value(metrics.latency_bucket(value))
        assert abs(estimate - value) / value < (metrics.LATENCY_GAMMA - 1)
    # Zero and tiny latencies share the first bucket instead of failing on log(0).
    assert metrics.latency_bucket(0) == metrics.latency_bucket(metrics.LATENCY_FLOOR_MS)


def test_sketch_quantiles_of_one_to_a_thousand_ms():
    values = range(1, 1001)
    sketch: dict = {}
    for value in values:
        bucket = metrics.latency_bucket(value)
        sketch[bucket] = sketch.get(bucket, 0) + 1
    # Merging two halves gives the same sketch as adding all values.
    half_a = {k: v for k, v in sketch.items() if k % 2}
    half_b = {str(k): v for k, v in sketch.items() if not k % 2}
    assert metrics.sketch_merge(half_a, half_b) == sketch
    for q, exact in ((0.5, 500), (0.95, 950), (0.99, 990)):
        assert metrics.sketch_quantile(sketch, q) == pytest.approx(exact, rel=0.04)
    assert metrics.sketch_quantile({}, 0.5) is None


def test_top_share_finds_the_majority_label():
    assert metrics.top_share({"no_action": 99, "refund": 1}) == ("no_action", 0.99)
    assert metrics.top_share({}) is None
    assert math.isclose(metrics.top_share({"a": 1, "b": 1})[1], 0.5)
