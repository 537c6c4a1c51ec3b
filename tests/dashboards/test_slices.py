"""Failing slices (dashboards/slices.py) on synthetic counts: hand-checked figures, a planted
failing slice, the two-way rule, Benjamini–Hochberg, and the false-discovery rate on null data."""

import random

import numpy as np
import pytest

from dashboards.metrics import wilson_interval
from dashboards.slices import OTHER, SEPARATOR, benjamini_hochberg, find_slices, one_sided_p


def one_way(counts: dict[str, tuple[int, int]]) -> dict:
    return {value: [n, k, 0, 0, 0] for value, (n, k) in counts.items()}


def test_a_slices_rate_interval_rest_and_lift_are_computed_against_the_rest():
    segments = {"channel": one_way({"kiosk": (200, 60), "app": (800, 80)})}

    kiosk, app = find_slices(segments, total_predictions=1000, total_corrections=140)

    assert kiosk.segment == {"channel": "kiosk"}
    assert kiosk.correction_rate == pytest.approx(0.3)
    assert (kiosk.ci_low, kiosk.ci_high) == pytest.approx(wilson_interval(60, 200))
    assert kiosk.rest_correction_rate == pytest.approx(0.1)
    assert kiosk.lift == pytest.approx(3.0)
    assert kiosk.excess_corrections == pytest.approx(200 * (0.3 - 0.1))
    assert kiosk.significant and not app.significant
    assert app.rest_correction_rate == pytest.approx(0.3)
    assert app.excess_corrections < 0


def test_the_one_sided_test_matches_a_hand_computation():
    # 2 of 3 corrected against 0 of 3: drawing 3 of 6 of which 2 are corrected, P(X >= 2) =
    # C(2,2) * C(4,1) / C(6,3) = 4/20 = 0.2 (X cannot exceed 2).
    assert one_sided_p(2, 3, 0, 3) == pytest.approx(0.2)
    assert one_sided_p(60, 200, 80, 800) < 1e-9
    assert 0.4 < one_sided_p(20, 200, 80, 800) < 0.6
    assert one_sided_p(10, 200, 80, 800) > 0.95
    assert one_sided_p(0, 0, 1, 10) is None


def test_benjamini_hochberg_matches_a_hand_computation_and_is_monotone():
    p = [0.01, 0.04, 0.03, 0.005, 0.5]
    # sorted: 0.005, 0.01, 0.03, 0.04, 0.5 -> x5/rank: 0.025, 0.025, 0.05, 0.05, 0.5
    assert benjamini_hochberg(p) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    assert benjamini_hochberg([0.9, 0.8]) == pytest.approx([0.9, 0.9])


def test_a_planted_failing_slice_is_found_first_among_many_keys():
    rng = random.Random(1)
    segments, total_n, total_k = {}, 0, 0
    for key, values in {"locale": 5, "tier": 4, "app_version": 20}.items():
        counts = {}
        for i in range(values):
            n = 20_000 // values
            counts[f"{key}-{i}"] = (n, sum(rng.random() < 0.13 for _ in range(n)))
        segments[key] = one_way(counts)
        total_n, total_k = 20_000, sum(k for _, k in counts.values())
    # channel: kiosk is 5 % of the traffic and corrected 3x as often.
    kiosk_k = 390
    rest_k = total_k - kiosk_k
    segments["channel"] = one_way({"kiosk": (1000, kiosk_k), "app": (19_000, rest_k)})

    found = find_slices(segments, total_predictions=total_n, total_corrections=total_k)

    assert found[0].segment == {"channel": "kiosk"} and found[0].significant
    assert found[0].lift > 2.5


def test_a_pair_fails_only_when_it_is_worse_than_both_of_its_values():
    segments = {
        "channel": one_way({"kiosk": (2000, 600), "app": (8000, 800)}),
        "locale": one_way({"en": (5000, 700), "ko": (5000, 700)}),
        f"channel{SEPARATOR}locale": {
            # kiosk + en: 30 %, like kiosk itself: it only repeats kiosk.
            f"kiosk{SEPARATOR}en": [1000, 300, 0, 0, 0],
            # app + ko: 12 %, worse than app (10 %) but not than ko (14 %).
            f"app{SEPARATOR}ko": [4000, 480, 0, 0, 0],
            # kiosk + ko: 45 %, worse than kiosk (30 %) and ko (14 %).
            f"kiosk{SEPARATOR}ko": [500, 225, 0, 0, 0],
        },
    }

    found = {
        tuple(s.segment.items()): s
        for s in find_slices(segments, total_predictions=10_000, total_corrections=1400)
    }

    assert found[("channel", "kiosk"), ("locale", "ko")].significant
    assert not found[("channel", "kiosk"), ("locale", "en")].significant
    assert not found[("channel", "app"), ("locale", "ko")].significant
    assert found[("channel", "kiosk"),].significant


def test_small_slices_and_other_values_are_listed_but_not_tested():
    segments = {"channel": one_way({"kiosk": (50, 40), OTHER: (400, 200), "app": (9550, 860)})}

    found = {s.segment["channel"]: s for s in find_slices(
        segments, total_predictions=10_000, total_corrections=1100, min_predictions=100
    )}  # fmt: skip

    assert found["kiosk"].p_value is None and found["kiosk"].q_value is None
    assert not found["kiosk"].significant and found["kiosk"].correction_rate == 0.8
    assert found[OTHER].q_value is None and not found[OTHER].significant
    # Only app was tested: its q-value is its p-value (a family of one).
    assert found["app"].q_value == pytest.approx(found["app"].p_value)


def test_with_no_effect_the_reported_share_stays_within_the_fdr_level():
    """200 random projects whose slices all share one correction rate: under the null,
    Benjamini–Hochberg keeps the chance of reporting anything at most the FDR level."""
    rng = np.random.default_rng(7)
    reported = 0
    for _ in range(200):
        n = int(rng.integers(2000, 20_000))
        corrected = rng.random(n) < rng.uniform(0.05, 0.3)
        segments = {}
        for key in range(int(rng.integers(2, 6))):
            values = rng.integers(int(rng.integers(3, 51)), size=n)
            predictions = np.bincount(values)
            corrections = np.bincount(values, weights=corrected)
            segments[f"key{key}"] = {
                str(v): [int(predictions[v]), int(corrections[v]), 0, 0, 0]
                for v in range(len(predictions))
                if predictions[v]
            }
        found = find_slices(segments, total_predictions=n, total_corrections=int(corrected.sum()))
        reported += any(s.significant for s in found)

    assert reported / 200 <= 0.05 + 0.03  # the level, with room for 200 draws' noise
