"""The Segments section of the quality page: the failing slices (said in plain words by the
template), a table per key with every value, each failing slice per model version (did v2 fix
kiosk?), and one table of every slice for the CSV download."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from .. import metrics
from ..slices import CORRECTIONS, OTHER, PREDICTIONS, SEPARATOR, Slice
from .tables import rounded

# The page lists this many failing slices; the CSV has them all.
FAILING_SHOWN = 10


# The built-in keys (services/segments.py) in the reader's words; metadata keys are data.
BUILT_IN_NAMES = {
    "model_version": gettext_lazy("model version"),
    "predicted_label": gettext_lazy("predicted label"),
}


def key_name(key: str):
    return BUILT_IN_NAMES.get(key, key)


def segment_text(segment: dict) -> str:
    """`channel = kiosk`, or `channel = kiosk, locale = en-IN` for a two-way slice (as the
    CSV writes it)."""
    return ", ".join(f"{key} = {value}" for key, value in segment.items())


def segment_words(segment: dict):
    """The same, built-in keys in the reader's language."""
    parts = [part for key, value in segment.items() for part in (key_name(key), value)]
    return format_lazy(", ".join(["{} = {}"] * len(segment)), *parts)


def _per_version(found: Slice, by_version: dict) -> list[dict]:
    key, value = SEPARATOR.join(found.segment), SEPARATOR.join(found.segment.values())
    rows = []
    for version, segments in by_version.items():
        figures = (segments.get(key) or {}).get(value)
        if not figures or not figures[PREDICTIONS]:
            continue
        n, k = figures[PREDICTIONS], figures[CORRECTIONS]
        rows.append(
            {
                "version": version,
                "predictions": n,
                "corrections": k,
                "rate": metrics.rate(k, n),
                "ci": metrics.wilson_interval(k, n),
            }
        )
    return rows


def segments_section(totals, found: list[Slice]) -> dict:
    """What the page shows of the period's segments (`services.segments.segments_report`)."""
    # A model version on its own is the page's headline already (v2 against v1): the list
    # says where the model fails inside the traffic (a version within a slice still shows).
    failing = [s for s in found if s.significant and list(s.segment) != ["model_version"]]
    by_key: dict[str, list[Slice]] = {}
    for item in found:
        if len(item.segment) == 1:
            by_key.setdefault(next(iter(item.segment)), []).append(item)
    keys = [
        {
            "key": key,
            "name": key_name(key),
            "rows": [
                {"slice": s, "value": s.segment[key], "share": metrics.rate(s.predictions, totals.predictions), "other": s.segment[key] == OTHER}
                for s in sorted(rows, key=lambda s: (-s.predictions, s.segment[key]))
            ],
        }
        for key, rows in sorted(by_key.items())
    ]  # fmt: skip
    return {
        "id": "segments",
        "predictions": totals.predictions,
        "failing": [
            {
                "slice": s,
                "text": segment_words(s.segment),
                "versions": _per_version(s, totals.by_version),
            }
            for s in failing[:FAILING_SHOWN]
        ],  # fmt: skip
        "failing_count": len(failing),
        "keys": keys,
        "table": segments_table(found),
    }


def segments_table(found: list[Slice]) -> dict:
    """Every slice, in the report's order (the CSV download; machine-readable columns)."""
    columns = [
        "segment",
        "predictions",
        "corrections",
        "correction_rate",
        "ci_low",
        "ci_high",
        "rest_correction_rate",
        "lift",
        "excess_corrections",
        "p_value",
        "q_value",
        "significant",
    ]
    rows = [
        [
            segment_text(s.segment),
            s.predictions,
            s.corrections,
            rounded(s.correction_rate),
            rounded(s.ci_low),
            rounded(s.ci_high),
            rounded(s.rest_correction_rate),
            rounded(s.lift, 2),
            rounded(s.excess_corrections, 1),
            rounded(s.p_value, 6),
            rounded(s.q_value, 6),
            "yes" if s.significant else "no",
        ]
        for s in found
    ]
    return {"columns": columns, "rows": rows, "flags": [s.significant for s in found]}
