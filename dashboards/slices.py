"""Failing slices, found in segment counts (pure: counts in, findings out; no Django).

A slice is a value of a metadata key ({"channel": "kiosk"}) or a pair of values of two keys.
Each slice with enough predictions is tested against the rest of the traffic (one-sided
Fisher exact test: is it corrected more often?), and the false-discovery rate is held
across every slice tested (Benjamini–Hochberg). A two-way slice fails only when it is also
worse than both of its one-way parents: otherwise it only repeats one of them."""

from dataclasses import dataclass

import numpy as np
from scipy.stats import hypergeom

from .metrics import rate, wilson_interval

# A segment's figures, in this order, wherever segment counts are stored.
FIGURES = ("predictions", "corrections", "complaints", "ratings_up", "ratings_down")
PREDICTIONS, CORRECTIONS = 0, 1
# The values of a key past its busiest: counted, never reported as one segment.
OTHER = "(other)"
# Joins the two keys (and the two values) of a pair; never in a stored value.
SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Slice:
    segment: dict[str, str]
    predictions: int
    corrections: int
    correction_rate: float | None
    ci_low: float | None
    ci_high: float | None
    rest_predictions: int
    rest_corrections: int
    rest_correction_rate: float | None
    lift: float | None
    excess_corrections: float
    p_value: float | None
    q_value: float | None
    significant: bool


def one_sided_p(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """P-value of "group 1 is corrected more often than group 2": the one-sided Fisher exact
    test (hypergeometric tail). Exact at small counts, where the z-test's normal tail
    under-states the chance of a high count and reports too many slices; None when undefined."""
    if not n1 or not n2:
        return None
    return float(hypergeom.sf(k1 - 1, n1 + n2, k1 + k2, n1))


def _p_values(rows: list[dict]) -> list[float]:
    """one_sided_p of every row in one call (scipy's per-call overhead is most of the cost)."""
    if not rows:
        return []
    k = np.array([r["corrections"] for r in rows])
    n = np.array([r["predictions"] for r in rows])
    total_k = k + np.array([r["rest_corrections"] for r in rows])
    total_n = n + np.array([r["rest_predictions"] for r in rows])
    return [float(p) for p in hypergeom.sf(k - 1, total_n, total_k, n)]


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Adjusted q-values in the input's order (monotone, at most 1)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = running
    return q


def _slice(segment, figures, total_n, total_k) -> dict:
    n, k = int(figures[PREDICTIONS]), min(int(figures[CORRECTIONS]), int(figures[PREDICTIONS]))
    rest_n, rest_k = max(total_n - n, 0), max(min(total_k - k, total_n - n), 0)
    own, rest = rate(k, n), rate(rest_k, rest_n)
    interval = wilson_interval(k, n)
    return {
        "segment": segment,
        "predictions": n,
        "corrections": k,
        "correction_rate": own,
        "ci_low": interval[0] if interval else None,
        "ci_high": interval[1] if interval else None,
        "rest_predictions": rest_n,
        "rest_corrections": rest_k,
        "rest_correction_rate": rest,
        "lift": own / rest if own is not None and rest else None,
        "excess_corrections": n * (own - rest) if own is not None and rest is not None else 0.0,
        "p_value": None,
        "q_value": None,
        "significant": False,
    }


def find_slices(
    segments: dict,
    *,
    total_predictions: int,
    total_corrections: int,
    min_predictions: int = 100,
    fdr: float = 0.05,
) -> list[Slice]:
    """Every slice of `segments` (key -> value -> figures), failing ones first by excess
    corrections, then the others by excess corrections. Slices under `min_predictions`, and
    the (other) values, are listed but not tested."""
    rows = []
    for key, by_value in segments.items():
        keys = key.split(SEPARATOR)
        for value, figures in by_value.items():
            values = value.split(SEPARATOR)
            if len(values) != len(keys):
                continue
            segment = dict(zip(keys, values, strict=True))
            rows.append(_slice(segment, figures, total_predictions, total_corrections))
    tested = [
        row
        for row in rows
        if row["predictions"] >= min_predictions
        and row["rest_predictions"]
        and OTHER not in row["segment"].values()
    ]
    for row, p in zip(tested, _p_values(tested), strict=True):
        row["p_value"] = p
    for row, q in zip(tested, benjamini_hochberg([r["p_value"] for r in tested]), strict=True):
        row["q_value"] = q
        row["significant"] = q <= fdr and row["correction_rate"] > row["rest_correction_rate"]
    one_way = {
        (key, value): row["correction_rate"]
        for row in rows
        if len(row["segment"]) == 1
        for key, value in row["segment"].items()
    }
    for row in tested:
        if row["significant"] and len(row["segment"]) > 1:
            parents = [one_way.get(item) for item in row["segment"].items()]
            row["significant"] = all(p is not None and row["correction_rate"] > p for p in parents)
    rows.sort(key=lambda r: (not r["significant"], -r["excess_corrections"], str(r["segment"])))
    return [Slice(**row) for row in rows]
