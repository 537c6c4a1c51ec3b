"""Pure metric functions of the dashboards: no ORM, no Django. Tested against hand-computed
values in tests/dashboards/test_metrics.py.

Conventions: a rate whose denominator is 0 is None (unknown), never 0; intervals are Wilson
score intervals (they behave at 0 and at small counts, where the normal approximation gives
negative bounds); histograms are lists of counts over the same bins.
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.special import bdtr, bdtrc
from scipy.stats import chi2

from core.stats import Z_95, wilson_interval  # noqa: F401 - the dashboards' interval

# Confidence histograms: CONFIDENCE_BINS equal bins over [0, 1]; 1.0 falls in the last one.
CONFIDENCE_BINS = 20

# Latency sketch: log buckets of ratio LATENCY_GAMMA (relative error under 2 %), so quantiles
# of merged hours are exact to that precision and sketches merge by adding counts. Latencies
# under LATENCY_FLOOR_MS share the first bucket.
LATENCY_GAMMA = 1.04
LATENCY_FLOOR_MS = 0.1

# Population stability index bands (the usual reading: < 0.1 stable, 0.1-0.25 moderate shift,
# > 0.25 significant shift) and the share given to an empty bin so the logarithm is defined.
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25
PSI_EMPTY_SHARE = 1e-4


def rate(k: int | float, n: int | float) -> float | None:
    """k / n, or None when there is nothing to divide by."""
    return k / n if n else None


def shares(counts: Sequence[float]) -> list[float]:
    total = sum(counts)
    return [c / total for c in counts] if total else [0.0 for _ in counts]


def psi(expected: Sequence[float], actual: Sequence[float]) -> float | None:
    """Population stability index of `actual` against `expected` (counts over the same bins):
    sum over bins of (a - e) * ln(a / e) with a, e the shares. Empty bins count as
    PSI_EMPTY_SHARE. None when either side has no data."""
    if len(expected) != len(actual):
        raise ValueError("expected and actual need the same bins")
    if not sum(expected) or not sum(actual):
        return None
    total = 0.0
    for e, a in zip(shares(expected), shares(actual), strict=True):
        e, a = max(e, PSI_EMPTY_SHARE), max(a, PSI_EMPTY_SHARE)
        total += (a - e) * math.log(a / e)
    return total


def psi_rows(expected: Sequence[float], actual: np.ndarray) -> list[float | None]:
    """`psi(expected, row)` for each row of the matrix `actual` (rows × the bins of
    `expected`), at once: the same arithmetic in the same order (shares, the empty-bin floor,
    a left-to-right sum), hence the same values. None for a row without data, and for all when
    `expected` has none."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    if actual.ndim != 2 or actual.shape[1] != len(expected):
        raise ValueError("expected and actual need the same bins")
    if not len(actual):
        return []
    expected_total, actual_totals = expected.sum(), actual.sum(axis=1)
    if not expected_total:
        return [None] * len(actual)
    e = np.maximum(expected / expected_total, PSI_EMPTY_SHARE)
    with np.errstate(divide="ignore", invalid="ignore"):  # rows without data: None below
        a = np.maximum(actual / actual_totals[:, None], PSI_EMPTY_SHARE)
        values = np.cumsum((a - e) * np.log(a / e), axis=1)[:, -1] if len(e) else actual_totals
    return [
        float(value) if total else None
        for value, total in zip(values.tolist(), actual_totals.tolist(), strict=True)
    ]


# Distribution shift of a bucket against its reference, for many bins and small counts (77
# labels and tens of predictions a day: most labels expect under one answer a day).
# - Is it noise? Two tests, Bonferroni-combined: Pearson's chi-square of homogeneity with the
#   bins whose expected count in the smaller sample is under SHIFT_MIN_EXPECTED pooled into one
#   (a diffuse change), and per bin an exact test of that bin against the rest (of two
#   Poisson rates, conditional on the bin's count), the smallest p-value times the bins
#   tested (one label taking over, which pooling would hide).
# - Is it large? The PSI of the bucket's shares shrunk toward the reference's by
#   SHIFT_PRIOR_PREDICTIONS pseudo-predictions (a day of 40 predictions no longer scores 2 for
#   the labels it happened not to see), in the usual bands.
# A shift is called only when both say so (the caller adjusts the p-values across buckets).
SHIFT_MIN_EXPECTED = 5.0
SHIFT_FDR = 0.05
SHIFT_PRIOR_PREDICTIONS = 30


def _pooled_chi_square(reference: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Pearson's test of homogeneity of each row against the reference, rare bins pooled."""
    n_ref, n_act = reference.sum(), actual.sum(axis=1)
    total = n_act + n_ref
    columns = actual + reference
    kept = columns * (np.minimum(n_act, n_ref) / total)[:, None] >= SHIFT_MIN_EXPECTED
    act = np.hstack([actual * kept, (actual * ~kept).sum(axis=1, keepdims=True)])
    ref = np.hstack([reference * kept, (reference * ~kept).sum(axis=1, keepdims=True)])
    both = act + ref
    used = both > 0
    e_act = np.where(used, both * (n_act / total)[:, None], 1.0)
    e_ref = np.where(used, both * (n_ref / total)[:, None], 1.0)
    statistic = (np.where(used, (act - e_act) ** 2 / e_act + (ref - e_ref) ** 2 / e_ref, 0.0)).sum(
        axis=1
    )
    dof = used.sum(axis=1) - 1
    return np.where(dof > 0, chi2.sf(statistic, np.maximum(dof, 1)), 1.0)


def _bin_tests(reference: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the smallest two-sided p-value of a bin against the rest, times the bins
    tested (at most 1), and that bin's index. Each bin's test is the exact conditional test of
    two Poisson rates: given the bin's count over both samples, the bucket's part of it is
    binomial with the bucket's share of all predictions. One tail, the side the bin moved to
    (the other is over 1/2); `bdtr` computes it in constant time, where Fisher's exact test
    sums thousands of terms for a common label on a busy day."""
    n_ref, n_act = reference.sum(), actual.sum(axis=1)
    columns = actual + reference
    bucket_share = np.broadcast_to((n_act / (n_act + n_ref))[:, None], actual.shape)
    tested_bins = columns > 0
    more = tested_bins & (actual * n_ref >= reference * n_act[:, None])
    fewer = tested_bins & ~more
    p = np.ones(actual.shape)
    # Whole counts as integers: SciPy deprecates (and will refuse) a float number of trials.
    counts, trials = actual.astype(np.int64), columns.astype(np.int64)
    with np.errstate(invalid="ignore"):
        p[more] = 2 * bdtrc(counts[more] - 1, trials[more], bucket_share[more])  # X >= actual
        p[fewer] = 2 * bdtr(counts[fewer], trials[fewer], bucket_share[fewer])  # X <= actual
    p = np.minimum(np.nan_to_num(p, nan=1.0), 1.0)
    tested = np.maximum(tested_bins.sum(axis=1), 1)
    best = p.argmin(axis=1)
    return np.minimum(1.0, p[np.arange(len(p)), best] * tested), best


def _psi_shrunk(reference: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """PSI of each row's shares shrunk toward the reference's (a bin neither side saw adds 0,
    one the reference never saw counts half a prediction there)."""
    n_ref, n_act = reference.sum(), actual.sum(axis=1)
    e = np.maximum(reference, 0.5) / n_ref
    weight = (n_act / (n_act + SHIFT_PRIOR_PREDICTIONS))[:, None]
    a = actual / n_act[:, None] * weight + e * (1 - weight)
    used = (reference > 0) | (actual > 0)
    return np.where(used, (a - e) * np.log(a / e), 0.0).sum(axis=1)


def shift_rows(reference: Sequence[float], actual: np.ndarray) -> list[dict | None]:
    """For each row of `actual` (rows × the bins of `reference`, counts): whether it differs
    from the reference beyond noise (`p_value`, and `bin`, the index of the bin that moved
    most), and by how much (`psi`, of the shrunk shares). None for a row without data (all None when
    the reference has none)."""
    reference = np.asarray(reference, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if actual.ndim != 2 or actual.shape[1] != len(reference):
        raise ValueError("reference and actual need the same bins")
    n_act = actual.sum(axis=1)
    if not len(actual) or not reference.sum():
        return [None] * len(actual)
    rows = np.flatnonzero(n_act)
    found: list[dict | None] = [None] * len(actual)
    if not len(rows):
        return found
    mine = actual[rows]
    chi_square = _pooled_chi_square(reference, mine)
    per_bin, moved = _bin_tests(reference, mine)
    p_values = np.minimum(1.0, 2 * np.minimum(chi_square, per_bin))
    psi_values = _psi_shrunk(reference, mine)
    for j, i in enumerate(rows.tolist()):
        found[i] = {
            "p_value": float(p_values[j]),
            "bin": int(moved[j]),
            "psi": float(psi_values[j]),
        }
    return found


def shift_band(psi_value: float | None, q_value: float | None) -> str:
    """'stable', 'moderate' or 'significant' for a shift: 'stable' unless the test says it is
    not noise (q <= SHIFT_FDR), then after the usual PSI bands; '' if unknown."""
    if psi_value is None or q_value is None:
        return ""
    if q_value > SHIFT_FDR:
        return "stable"
    return psi_band(psi_value)


def psi_of_mappings(expected: Mapping[str, float], actual: Mapping[str, float]) -> float | None:
    """PSI of two categorical distributions given as label -> count (union of labels)."""
    keys = sorted(set(expected) | set(actual))
    return psi([expected.get(k, 0) for k in keys], [actual.get(k, 0) for k in keys])


def psi_band(value: float | None) -> str:
    """'stable', 'moderate' or 'significant' after the usual 0.1 / 0.25 bands; '' if unknown."""
    if value is None:
        return ""
    if value >= PSI_SIGNIFICANT:
        return "significant"
    if value >= PSI_MODERATE:
        return "moderate"
    return "stable"


def confidence_bin(confidence: float) -> int:
    """Index of the confidence histogram bin of a value in [0, 1]."""
    return min(max(int(math.floor(confidence * CONFIDENCE_BINS)), 0), CONFIDENCE_BINS - 1)


def confidence_bin_edges(i: int, bins: int = CONFIDENCE_BINS) -> tuple[float, float]:
    return i / bins, (i + 1) / bins


def reliability(predictions: Sequence[int], corrections: Sequence[int]) -> list[dict]:
    """Correction rate per confidence bin (a reliability curve from real feedback): one row per
    non-empty bin with its edges, counts, rate and Wilson interval. A calibrated model is
    corrected at about 1 - confidence."""
    rows = []
    for i, (n, k) in enumerate(zip(predictions, corrections, strict=True)):
        if not n:
            continue
        lo, hi = confidence_bin_edges(i, len(predictions))
        rows.append(
            {
                "bin_low": lo,
                "bin_high": hi,
                "predictions": n,
                "corrections": k,
                "correction_rate": rate(k, n),
                "ci": wilson_interval(k, n),
                "expected_rate": 1 - (lo + hi) / 2,
            }
        )
    return rows


def threshold_table(predictions: Sequence[int], corrections: Sequence[int]) -> list[dict]:
    """For each bin edge t as a threshold: the share of traffic with confidence >= t (answered
    automatically), its correction rate, and the share below t (routed to a human) with the
    corrections a human would have caught there."""
    total = sum(predictions)
    rows = []
    above_n, above_k = total, sum(corrections)
    for i in range(len(predictions)):
        lo, _ = confidence_bin_edges(i, len(predictions))
        rows.append(
            {
                "threshold": lo,
                "share_above": rate(above_n, total),
                "predictions_above": above_n,
                "corrections_above": above_k,
                "correction_rate_above": rate(above_k, above_n),
                "ci_above": wilson_interval(above_k, above_n),
                "share_below": rate(total - above_n, total),
                "corrections_below": sum(corrections) - above_k,
            }
        )
        above_n -= predictions[i]
        above_k -= corrections[i]
    return rows


def latency_bucket(latency_ms: float) -> int:
    """Sketch bucket of a latency: floor(log_gamma(max(latency, floor)))."""
    return int(math.floor(math.log(max(latency_ms, LATENCY_FLOOR_MS)) / math.log(LATENCY_GAMMA)))


def latency_bucket_value(bucket: int) -> float:
    """Representative value of a bucket: the geometric middle of its bounds."""
    return LATENCY_GAMMA ** (bucket + 0.5)


def sketch_merge(*sketches: Mapping) -> dict[int, int]:
    merged: dict[int, int] = {}
    for sketch in sketches:
        for bucket, n in sketch.items():
            merged[int(bucket)] = merged.get(int(bucket), 0) + n
    return merged


def sketch_quantile(sketch: Mapping, q: float) -> float | None:
    """The q-quantile (0..1) of a latency sketch, to the sketch's relative precision."""
    items = sorted((int(bucket), n) for bucket, n in sketch.items() if n)
    total = sum(n for _, n in items)
    if not total:
        return None
    # Nearest rank: the smallest value with at least q of the data at or below it.
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket, n in items:
        seen += n
        if seen >= rank:
            return latency_bucket_value(bucket)
    return latency_bucket_value(items[-1][0])


def top_share(counts: Mapping[str, int]) -> tuple[str, float] | None:
    """The most frequent label and its share, or None without data."""
    total = sum(counts.values())
    if not total:
        return None
    label = max(sorted(counts), key=lambda k: counts[k])
    return label, counts[label] / total
