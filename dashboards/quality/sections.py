"""The sections of the overview page: each an `id` (its anchor and CSV name), a `title` and a
`lead` that says how to read it, a `chart` and a `table` of the same figures (`charts.py`,
`tables.py`), and what the page shows beside them.

The title and the lead are English messages of the catalogue, marked here and translated by the
page (`display.py`): the lead is one sentence with named placeholders, filled from
`lead_args` (numbers as they are) and `lead_shares` (shares, written as percentages)."""

from .. import metrics
from . import charts, reviewers, tables
from .figures import COLLAPSE_MIN_SHARE, COLLAPSE_RATIO, CONFUSION_TOP_LABELS, GAP_HIGHLIGHT

# The confusion section lists the precision proxy of this many labels, most predicted first.
PRECISION_SHOWN = 30


def gettext_noop(message: str) -> str:
    """Marks a message for the catalogue (makemessages finds it by this name) without Django:
    these modules run without it; the page translates the message."""
    return message


def rates_section(series: list[dict]) -> dict:
    return {
        "id": "rates",
        "title": gettext_noop("Correction and complaint rates"),
        "lead": gettext_noop(
            "Corrections per prediction, per model version, with 95% Wilson intervals."
        ),
        "chart": charts.rates_chart(series),
        "table": tables.rates_table(series),
    }


def offline_online_section(versions: list[dict]) -> dict:
    return {
        "id": "offline-online",
        "title": gettext_noop("Offline vs online"),
        "lead": gettext_noop(
            "Accuracy measured at release next to the online proxies (1 − correction rate, "
            "over all predictions and over those that received feedback). The gap is offline "
            "minus online among feedback; %(gap)s or more is highlighted."
        ),
        "lead_shares": {"gap": GAP_HIGHLIGHT},
        "chart": charts.offline_online_chart(versions),
        "table": tables.offline_online_table(versions),
    }


def confusion_section(confusion: dict) -> dict:
    precision = tables.precision_table(confusion)
    return {
        "id": "confusion",
        "title": gettext_noop("Confusion from corrections"),
        "lead": gettext_noop(
            "The labels whose answers customers corrected most (rows, up to %(labels)s) "
            "against what they corrected them to (columns, a row's other corrections "
            "grouped): %(shown)s of the period's %(total)s corrections."
        ),
        "lead_args": {
            "labels": CONFUSION_TOP_LABELS,
            "shown": confusion["shown"],
            "total": confusion["total"],
        },
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
        "title": gettext_noop("Prediction collapse"),
        "lead": gettext_noop(
            "Share of each predicted label over time. A bucket is flagged when one label "
            "takes %(share)s or more of the answers and at least %(ratio)s× its share in the "
            "reference (the majority-class trap)."
        ),
        "lead_args": {"ratio": f"{COLLAPSE_RATIO:g}"},
        "lead_shares": {"share": COLLAPSE_MIN_SHARE},
        "chart": charts.collapse_chart(collapse),
        "table": table,
        "flagged": sum(table["flags"]),
    }


def drift_section(drift: list[dict]) -> dict:
    return {
        "id": "drift",
        "title": gettext_noop("Drift"),
        "lead": gettext_noop(
            "Whether the predicted labels and the confidence of each whole bucket moved from "
            "the reference beyond noise (a chi-square test with rare labels pooled and a "
            "test of each label, false discoveries held at %(fdr)s across buckets), and how far "
            "(PSI of smoothed shares: 0.1–0.25 moderate, over 0.25 significant). Only a "
            "change beyond noise is coloured."
        ),
        "lead_shares": {"fdr": metrics.SHIFT_FDR},
        "chart": charts.drift_chart(drift),
        "table": tables.drift_table(drift),
    }


def reliability_section(reliability: list[dict], target_correction_rate: float) -> dict:
    return {
        "id": "reliability",
        "title": gettext_noop("Confidence vs corrections"),
        "lead": gettext_noop(
            "Correction rate per confidence bin, from real feedback (a calibrated model is "
            "corrected at about 1 − confidence), and what each threshold would leave to a "
            "human. Target correction rate above the threshold: %(target)s."
        ),
        "lead_shares": {"target": target_correction_rate},
        "chart": charts.reliability_chart(reliability),
        "table": tables.reliability_table(reliability),
        "thresholds": [v["thresholds"] for v in reliability],
        "threshold_table": tables.threshold_table(reliability),
    }


def service_section(service: list[dict], sla_p95_ms: float | None, latency: list[dict]) -> dict:
    return {
        "id": "service",
        "title": gettext_noop("Service figures"),
        "lead": gettext_noop(
            "Latency p50 and p95 over time against the project's SLA (a hollow point: a "
            "bucket the period holds only part of), and per version the predictions per "
            "second (average over the hours with traffic, and the busiest second)."
        ),
        "chart": charts.latency_chart(latency, sla_p95_ms),
        "table": tables.service_table(service),
        "latency_table": tables.latency_table(latency),
    }


def reviewers_section(findings: dict) -> dict:
    return {
        "id": "reviewers",
        "title": gettext_noop("Reviewer findings"),
        "lead": gettext_noop(
            "What reviewers found on the period's predictions, counted apart from the "
            "figures above (they count customers' feedback only): %(reviewed)s reviewed, "
            "%(wrong)s wrong, with the labels they corrected most. Predictions nobody "
            "corrected come mostly from the review queue, which picks likely mistakes: their "
            "share wrong measures the queue, not the model."
        ),
        "lead_args": {"reviewed": findings["reviewed"], "wrong": findings["wrong"]},
        "chart": reviewers.reviewer_chart(findings),
        "table": reviewers.reviewer_table(findings),
        "open_table": True,
    }
