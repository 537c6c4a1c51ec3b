"""The names of a rollup row's figures, read once off the model (`RollupCounts` in models.py):
a figure added there reaches the hour's recount, the day and week folds and the reads without
another list to keep in step."""

from django.db import models

from . import metrics
from .models import RollupCounts

# The row's keys and bookkeeping, not figures.
_NOT_FIGURES = {"project", "model_version", "computed_at"}
_FIGURES = [f for f in RollupCounts._meta.fields if f.name not in _NOT_FIGURES]

# Every figure of a rollup row, in the model's order.
ROLLUP_FIELDS = tuple(f.name for f in _FIGURES)
# Stored as JSON (label counts, corrected pairs, histograms, the latency sketch).
JSON_FIELDS = tuple(f.name for f in _FIGURES if isinstance(f, models.JSONField))
# The list-valued JSON figures: the confidence histograms, metrics.CONFIDENCE_BINS long.
HISTOGRAM_FIELDS = tuple(
    f.name for f in _FIGURES if isinstance(f, models.JSONField) and f.default is list
)
# The busiest second of a span is the largest of its parts', not their sum.
MAX_FIELDS = ("peak_per_second",)
# The numbers a longer span adds up as they are.
SUMMED_FIELDS = tuple(
    name for name in ROLLUP_FIELDS if name not in JSON_FIELDS and name not in MAX_FIELDS
)
# The figures counted from the predictions alone (the rest come from their feedback). An hour
# whose predictions retention may have deleted keeps these as they were counted.
SERVED_FIELDS = (
    "predictions",
    "label_counts",
    "confidence_predictions",
    "latency_sketch",
    "latency_count",
    "latency_sum_ms",
    "peak_per_second",
)
assert set(SERVED_FIELDS) <= set(ROLLUP_FIELDS), "a served figure was renamed in RollupCounts"
# The counts of predictions and feedback (the latency count and sum only serve its mean).
COUNT_FIELDS = tuple(name for name in SUMMED_FIELDS if not name.startswith("latency_"))


def rollup_zero() -> dict:
    """Every figure of a rollup row at zero, in the field's own type (fresh containers on each
    call)."""
    row = {f.name: f.to_python(f.get_default()) for f in _FIGURES}
    for name in HISTOGRAM_FIELDS:
        row[name] = [0] * metrics.CONFIDENCE_BINS
    return row
