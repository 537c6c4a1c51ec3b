"""A category's segment mix against the project's traffic (pure: counts in, findings out):
"78 % of this category comes from locale = en-IN, which is 12 % of traffic"."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# A value is worth saying when it is at least this share of the category...
MIN_CATEGORY_SHARE = 0.3
# ...at least this many times its share of the traffic...
MIN_OVER_REPRESENTATION = 2.0
# ...and carried by at least this many of the category's items (3 of 4 says nothing).
MIN_ITEMS = 5
SHOWN = 3
VALUE_CHARS = 100


@dataclass(frozen=True)
class MixFinding:
    key: str
    value: str
    items: int
    category_share: float
    traffic_share: float

    @property
    def text(self) -> str:
        return f"{self.key} = {self.value}"

    @property
    def ratio(self) -> float:
        return self.category_share / self.traffic_share if self.traffic_share else float("inf")


def segment_values(metadata_rows: Iterable) -> tuple[Counter, int]:
    """(key, value) counts of scalar metadata values, and how many rows were read."""
    counts: Counter = Counter()
    rows = 0
    for metadata in metadata_rows:
        rows += 1
        if not isinstance(metadata, dict):
            continue
        for key, value in metadata.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            if isinstance(value, str | int | float):
                counts[str(key), str(value)[:VALUE_CHARS]] += 1
    return counts, rows


def segment_mix(
    category: Counter, category_n: int, traffic: Counter, traffic_n: int
) -> list[MixFinding]:
    """The values over-represented in the category, most over-represented first."""
    if not category_n or not traffic_n:
        return []
    found = []
    for (key, value), n in category.items():
        share = n / category_n
        traffic_share = traffic.get((key, value), 0) / traffic_n
        if n < MIN_ITEMS or share < MIN_CATEGORY_SHARE:
            continue
        if traffic_share and share < MIN_OVER_REPRESENTATION * traffic_share:
            continue
        found.append(MixFinding(key, value, n, share, traffic_share))
    found.sort(key=lambda f: (-f.ratio, -f.items, f.key, f.value))
    return found[:SHOWN]
