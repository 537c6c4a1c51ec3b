"""The sections of the overview page: each an `id` (its anchor and CSV name), an English
`title` and a `lead` that says how to read it, a `chart` and a `table` of the same figures
(`charts.py`, `tables.py`), and what the page shows beside them."""

from . import charts, tables
from .figures import COLLAPSE_MIN_SHARE, COLLAPSE_RATIO, CONFUSION_TOP_LABELS, GAP_HIGHLIGHT

# The confusion section lists the precision proxy of this many labels, most predicted first.
PRECISION_SHOWN = 30


def rates_section(series: list[dict]) -> dict:
    return {
        "id": "rates",
        "title": "Correction and complaint rates",
        "lead": "Corrections per prediction, per model version, with 95 % Wilson intervals.",
        "chart": charts.rates_chart(series),
        "table": tables.rates_table(series),
    }


def offline_online_section(versions: list[dict]) -> dict:
    return {
        "id": "offline-online",
        "title": "Offline vs online",
        "lead": "Accuracy measured at release next to the online proxies (1 − correction "
        "rate, over all predictions and over those that received feedback). The gap is offline "
        f"minus online among feedback; {GAP_HIGHLIGHT:.0%} or more is highlighted.",
        "chart": charts.offline_online_chart(versions),
        "table": tables.offline_online_table(versions),
    }


def confusion_section(confusion: dict) -> dict:
    precision = tables.precision_table(confusion)
    return {
        "id": "confusion",
        "title": "Confusion from corrections",
        "lead": "What the model predicted (rows) against what customers corrected it to "
        f"(columns): the {CONFUSION_TOP_LABELS} labels most involved, the rest grouped.",
        "chart": charts.confusion_chart(confusion),
        "matrix": charts.confusion_heat_map(confusion),
        "pairs": confusion["pairs"],
        "precision": precision["rows"][:PRECISION_SHOWN],
        "table": tables.confusion_table(confusion),
        "precision_table": precision,
    }


def collapse_section(collapse: dict) -> dict:
    table = tables.collapse_table(collapse)
    return {
        "id": "collapse",
        "title": "Prediction collapse",
        "lead": "Share of each predicted label over time. A bucket is flagged when one label "
        f"takes {COLLAPSE_MIN_SHARE:.0%} or more of the answers and at least "
        f"{COLLAPSE_RATIO:g}× its share in the reference (the majority-class trap).",
        "chart": charts.collapse_chart(collapse),
        "table": table,
        "flagged": sum(table["flags"]),
    }


def drift_section(drift: list[dict]) -> dict:
    return {
        "id": "drift",
        "title": "Drift",
        "lead": "Population stability index of the predicted labels and of the confidence "
        "against the reference; under 0.1 stable, 0.1–0.25 moderate, over 0.25 significant.",
        "chart": charts.drift_chart(drift),
        "table": tables.drift_table(drift),
    }


def reliability_section(reliability: list[dict], target_correction_rate: float) -> dict:
    return {
        "id": "reliability",
        "title": "Confidence vs corrections",
        "lead": "Correction rate per confidence bin, from real feedback (a calibrated model is "
        "corrected at about 1 − confidence), and what each threshold would leave to a human. "
        f"Target correction rate above the threshold: {target_correction_rate:.0%}.",
        "chart": charts.reliability_chart(reliability),
        "table": tables.reliability_table(reliability),
        "thresholds": [v["thresholds"] for v in reliability],
        "threshold_table": tables.threshold_table(reliability),
    }


def service_section(service: list[dict], sla_p95_ms: float | None) -> dict:
    return {
        "id": "service",
        "title": "Service figures",
        "lead": "Predictions per second (average over the hours with traffic, and the busiest "
        "second) and latency quantiles against the project's SLA.",
        "chart": charts.service_chart(service, sla_p95_ms),
        "table": tables.service_table(service),
    }
