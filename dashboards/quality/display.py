"""The overview's sections as the page shows them, in the reader's language: the translated
title and lead, each table's column headings and the words in its cells.

The tables themselves (`tables.py`) keep their stable English column names and words: the CSV
download writes them as they are, for the scripts that read it. Only what a person reads on the
page is translated here."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.templatetags.ui import percent

from .figures import OTHER

# The on-page heading of each table column (the CSV keeps the column's name).
HEADINGS = {
    "bucket_start": _("Bucket start"),
    "model_version": _("Version"),
    "predictions": _("Predictions"),
    "corrections": _("Corrections"),
    "correction_rate": _("Correction rate"),
    "ci_low": _("95% CI, low"),
    "ci_high": _("95% CI, high"),
    "complaints": _("Complaints"),
    "complaint_rate": _("Complaint rate"),
    "online_accuracy_proxy": _("Online accuracy (proxy)"),
    "online_accuracy_among_feedback": _("Online accuracy among feedback"),
    "offline_accuracy": _("Offline accuracy"),
    "gap": _("Gap"),
    "predictions_with_feedback": _("Predictions with feedback"),
    "predicted": _("Predicted"),
    "corrected": _("Corrected to"),
    "share_of_label_corrections": _("Share of the label's corrections"),
    "predicted_label": _("Predicted label"),
    "precision_proxy": _("Precision (proxy)"),
    "top_label": _("Top label"),
    "top_share": _("Top label's share"),
    "reference_share": _("Share in the reference"),
    "collapse": _("Collapse"),
    "psi_labels": _("PSI of labels"),
    "q_labels": _("Labels: q-value"),
    "label_moved_most": _("Label that moved most"),
    "q_confidence": _("Confidence: q-value"),
    "partial_bucket": _("Partial bucket"),
    "labels_band": _("Label drift"),
    "psi_confidence": _("PSI of confidence"),
    "confidence_band": _("Confidence drift"),
    "reference": _("Reference"),
    "confidence_from": _("Confidence from"),
    "confidence_to": _("Confidence to"),
    "expected_if_calibrated": _("Expected if calibrated"),
    "threshold": _("Threshold"),
    "share_answered": _("Share answered automatically"),
    "predictions_answered": _("Answered automatically"),
    "correction_rate_answered": _("Their correction rate"),
    "share_to_human": _("Share left to a human"),
    "corrections_caught_by_human": _("Corrections caught by a human"),
    "hours_with_traffic": _("Hours with traffic"),
    "average_per_second": _("Average per second"),
    "peak_per_second": _("Peak per second"),
    "latencies": _("Latencies measured"),
    "latency_p50_ms": _("Latency p50 (ms)"),
    "latency_p95_ms": _("Latency p95 (ms)"),
    "sla_p95_ms": _("SLA p95 (ms)"),
    "within_sla": _("Within SLA"),
    "reviewed": _("Reviewed"),
    "found_wrong": _("Found wrong"),
    "share_wrong": _("Share wrong"),
    "without_customer_correction": _("Without a customer's correction"),
    "their_wrong": _("Of those, wrong"),
    "customer_corrections_judged": _("Customers' corrections judged"),
    "accepted": _("Accepted"),
    "rejected_model_right": _("Rejected (the model was right)"),
    "relabelled": _("Relabelled"),
}

# The words a table writes in these columns, as the page shows them.
WORD_COLUMNS = {"collapse", "within_sla", "labels_band", "confidence_band", "partial_bucket"}
WORDS = {
    "yes": _("yes"),
    "no": _("no"),
    "stable": _("stable"),
    "moderate": _("moderate"),
    "significant": _("significant"),
}

TABLE_KEYS = ("table", "precision_table", "threshold_table", "latency_table")

# The words of each kind of chart (legends, axis titles), handed to static/js/dashboards.js in
# the chart's JSON as `text`; `{version}`, `{value}` and `{sla}` are filled in there.
CHART_TEXT = {
    "rates": {
        "partial": _("{version}, partial bucket"),
        "interval": _("{version} 95% CI"),
        "low": _("{version} 95% CI, low"),
        "correction": _("{version} correction rate"),
        "complaint": _("{version} complaint rate"),
    },
    "offline": {
        "offline": _("offline accuracy (at release)"),
        "online": _("online proxy, all predictions"),
        "feedback": _("online proxy, among feedback"),
    },
    "pairs": {"corrections": _("corrections")},
    "reviewer_pairs": {"corrections": _("predictions found wrong")},
    "psi": {
        "labels": _("{version} labels"),
        "confidence": _("{version} confidence"),
        "moderate": _("moderate change"),
        "significant": _("significant change"),
    },
    "reliability": {
        "correction": _("{version} correction rate"),
        "calibrated": _("calibrated (1 − confidence)"),
        "x": _("confidence"),
    },
    "latency": {
        "p50": _("{version} p50 (ms)"),
        "p95": _("{version} p95 (ms)"),
        "sla": _("SLA p95 ({sla} ms)"),
    },
}
# The group of the labels outside the top ones (figures.OTHER), as the page writes it.
OTHER_TEXT = _("(other)")


def _share(value: float) -> str:
    """A share in a sentence: whole percents when it is one (5%), else one decimal (2.5%)."""
    whole = round(value * 100, 6).is_integer()
    return percent(value, 0 if whole else 1)


def _display_rows(table: dict) -> list:
    """(row, flagged) pairs, the words of WORD_COLUMNS translated."""
    words_at = [i for i, column in enumerate(table["columns"]) if column in WORD_COLUMNS]
    flags = table.get("flags") or [False] * len(table["rows"])
    rows = []
    for row, flagged in zip(table["rows"], flags, strict=True):
        if words_at:
            row = list(row)
            for i in words_at:
                if row[i] in WORDS:
                    row[i] = WORDS[row[i]]
        rows.append((row, flagged))
    return rows


def section_display(section: dict) -> None:
    """Adds to a section (in place) what the page needs: its title and lead in the reader's
    language, and per table its `headings` and `display` rows."""
    section["title"] = gettext(section["title"])
    args = dict(section.get("lead_args") or {})
    args.update({name: _share(v) for name, v in (section.get("lead_shares") or {}).items()})
    section["lead"] = gettext(section["lead"]) % args if args else gettext(section["lead"])
    chart = section.get("chart") or {}
    chart["text"] = {
        name: str(text)
        for name, text in CHART_TEXT.get(chart.get("text_kind", chart.get("kind")), {}).items()
    }
    for dataset in chart.get("datasets") or []:  # the shares chart
        if dataset.get("label") == OTHER:
            dataset["label"] = str(OTHER_TEXT)
    if "matrix" in section:  # the confusion grid's columns
        matrix = section["matrix"]
        matrix["columns"] = [str(OTHER_TEXT) if c == OTHER else c for c in matrix["columns"]]
    for key in TABLE_KEYS:
        if key in section:
            table = section[key]
            table["headings"] = [HEADINGS.get(column, column) for column in table["columns"]]
            table["display"] = _display_rows(table)
