"""Small statistics every app uses, pure (no Django): the Wilson interval of a proportion."""

import math

# 95 % two-sided.
Z_95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion k/n; None when n is 0. k is clamped to [0, n].
    It behaves at 0 and at small counts, where the normal approximation gives negative
    bounds."""
    if n <= 0:
        return None
    k = min(max(k, 0), n)
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
