"""The quality page's reviewer findings: what reviewers found on the predictions of the period,
kept apart from the online figures (which count customers' feedback only). Pure: verdict rows
in, figures, chart and table out.

A verdict row is a prediction's latest reviewer label with the prediction's version, its
predicted label and the customer's latest corrected label ("" when no customer corrected it).
Predictions nobody corrected reach reviewers mostly through the review queue, which picks
likely mistakes: their share wrong measures the queue, not the model's error rate."""

from collections import Counter
from typing import NamedTuple

from ..metrics import wilson_interval
from .tables import rounded

PAIRS_SHOWN = 15


class VerdictRow(NamedTuple):
    model_version_id: int
    predicted_label: str
    label: str  # the reviewer's
    customer_label: str  # the customer's latest correction, "" when none


def reviewer_findings(rows: list[VerdictRow], names: dict[int, str]) -> dict:
    """Per version (in `names`' order): predictions reviewed and found wrong (with a 95%
    Wilson interval), those without a customer's correction, and customers' corrections
    judged (accepted, rejected: the model was right, relabelled); the pairs reviewers found
    (predicted → their label), most frequent first."""
    counts = {version_id: Counter() for version_id in names}
    pairs: Counter = Counter()
    for row in rows:
        if row.model_version_id not in counts:
            continue
        tally, wrong = counts[row.model_version_id], row.label != row.predicted_label
        tally["reviewed"] += 1
        tally["wrong"] += wrong
        if wrong:
            pairs[(row.predicted_label, row.label)] += 1
        if not row.customer_label:
            tally["unreported"] += 1
            tally["unreported_wrong"] += wrong
        elif row.label == row.customer_label:
            tally["accepted"] += 1
        elif not wrong:
            tally["rejected"] += 1
        else:
            tally["relabelled"] += 1
    versions = []
    for version_id, tally in counts.items():
        if not tally["reviewed"]:
            continue
        n, k = tally["reviewed"], tally["wrong"]
        versions.append(
            {
                "version": names[version_id],
                "reviewed": n,
                "wrong": k,
                "share_wrong": k / n,
                "ci": wilson_interval(k, n),
                "unreported": tally["unreported"],
                "unreported_wrong": tally["unreported_wrong"],
                "judged": n - tally["unreported"],
                "accepted": tally["accepted"],
                "rejected": tally["rejected"],
                "relabelled": tally["relabelled"],
            }
        )
    return {
        "versions": versions,
        "reviewed": sum(v["reviewed"] for v in versions),
        "wrong": sum(v["wrong"] for v in versions),
        "pairs": [
            {"predicted": predicted, "label": label, "count": count}
            for (predicted, label), count in sorted(
                pairs.items(), key=lambda item: (-item[1], item[0])
            )[:PAIRS_SHOWN]
        ],
    }


def reviewer_chart(findings: dict) -> dict:
    pairs = findings["pairs"]
    return {
        "kind": "pairs",
        "text_kind": "reviewer_pairs",
        "labels": [f"{p['predicted']} → {p['label']}" for p in pairs],
        "values": [p["count"] for p in pairs],
    }


def reviewer_table(findings: dict) -> dict:
    columns = [
        "model_version",
        "reviewed",
        "found_wrong",
        "share_wrong",
        "ci_low",
        "ci_high",
        "without_customer_correction",
        "their_wrong",
        "customer_corrections_judged",
        "accepted",
        "rejected_model_right",
        "relabelled",
    ]
    rows = []
    for v in findings["versions"]:
        ci = v["ci"] or (None, None)
        rows.append(
            [
                v["version"],
                v["reviewed"],
                v["wrong"],
                rounded(v["share_wrong"]),
                rounded(ci[0]),
                rounded(ci[1]),
                v["unreported"],
                v["unreported_wrong"],
                v["judged"],
                v["accepted"],
                v["rejected"],
                v["relabelled"],
            ]
        )
    return {"columns": columns, "rows": rows}
