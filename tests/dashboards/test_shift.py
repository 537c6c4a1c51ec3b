"""The drift test of the quality page (`metrics.shift_rows`): a G-test with rare bins pooled,
and the PSI of smoothed shares as the size of a change. On 77 labels and tens of predictions a
bucket - the demo's days - noise must not look like drift; a real change must."""

import numpy as np
from scipy.stats import chi2_contingency

from dashboards import metrics
from dashboards.slices import benjamini_hochberg

LABELS = 77


def zipf_shares(k: int = LABELS) -> np.ndarray:
    weights = 1 / np.arange(1, k + 1)
    return weights / weights.sum()


def bands(reference, buckets) -> list[str]:
    """Each bucket's band, the p-values adjusted across the buckets as the page does."""
    found = metrics.shift_rows(reference, np.asarray(buckets))
    q = benjamini_hochberg([f["p_value"] for f in found])
    return [metrics.shift_band(f["psi"], qv) for f, qv in zip(found, q, strict=True)]


def test_a_diffuse_change_is_found_by_the_pooled_chi_square():
    # Four bins, no pooling: Pearson's test of the 2 x 4 table, Bonferroni-doubled.
    reference, actual = [1200, 800, 600, 400], [150, 175, 100, 75]

    (found,) = metrics.shift_rows(reference, np.asarray([actual]))

    _, p, dof, _ = chi2_contingency([reference, actual], correction=False)
    assert dof == 3
    assert found["p_value"] <= 2 * p * (1 + 1e-9)  # the per-label test may find less
    assert found["p_value"] < 1e-4


def test_one_rare_label_taking_over_is_found_though_pooling_would_hide_it():
    # 77 labels, 60 predictions: label 5 expects 2 answers and gets 20.
    shares = zipf_shares()
    reference = np.round(shares * 2_000)
    actual = np.round(shares * 40)
    actual[5] = 20

    (found,) = metrics.shift_rows(reference, np.asarray([actual]))

    assert found["bin"] == 5
    assert found["p_value"] < 1e-6
    assert metrics.shift_band(found["psi"], found["p_value"]) == "significant"


def test_many_labels_and_small_days_from_the_reference_are_not_called_drift():
    rng = np.random.default_rng(0)
    shares = zipf_shares()
    reference = rng.multinomial(2_000, shares)
    days = [rng.multinomial(n, shares) for n in rng.integers(30, 90, size=300)]

    found = metrics.shift_rows(reference, np.asarray(days))
    called = bands(reference, days)

    # The raw PSI the page used to draw is far over its 0.25 line on nearly every such day.
    raw = metrics.psi_rows(reference, np.asarray(days))
    assert np.mean([value > metrics.PSI_SIGNIFICANT for value in raw]) > 0.9
    # The test's p-values behave under the null: about 5 % under 0.05, none called drift.
    assert np.mean([f["p_value"] < 0.05 for f in found]) < 0.09
    assert called.count("significant") + called.count("moderate") <= 3


def test_a_label_that_took_over_is_called_drift():
    rng = np.random.default_rng(1)
    shares = zipf_shares()
    reference = rng.multinomial(2_000, shares)
    shifted = shares * 0.7
    shifted[5] += 0.3  # one label goes from 4 % to 33 % of the answers
    days = [rng.multinomial(60, shares) for _ in range(20)] + [rng.multinomial(60, shifted)]

    called = bands(reference, days)

    assert called[-1] == "significant"
    assert called[:-1].count("significant") <= 1


def test_a_large_sample_is_not_called_drift_for_a_change_too_small_to_matter():
    # 2 points moved between two labels over 200,000 predictions: certainly not noise, but
    # a PSI of ~0.001, so stable.
    reference = [50_000, 50_000, 100_000]
    actual = [[52_000, 48_000, 100_000]]

    (found,) = metrics.shift_rows(reference, np.asarray(actual))

    assert found["p_value"] < 1e-6
    assert metrics.shift_band(found["psi"], found["p_value"]) == "stable"


def test_unknown_without_data():
    assert metrics.shift_rows([0, 0], np.asarray([[1, 2]])) == [None]
    assert metrics.shift_rows([1, 2], np.asarray([[0, 0], [1, 1]]))[0] is None
    assert metrics.shift_band(None, None) == ""
