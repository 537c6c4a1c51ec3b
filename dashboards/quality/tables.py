"""The tables of the overview's sections, from their figures (`figures.py`): columns and rows,
and `flags` for the rows the page highlights. The page shows them and the CSV download writes
them (`section_table`), so cells are plain values: numbers rounded, unknown as ""."""


def rounded(value: float | None, digits: int = 4) -> float | str:
    return "" if value is None else round(value, digits)


def _day(start) -> str:
    return start.date().isoformat()


def rates_table(series: list[dict]) -> dict:
    columns = [
        "bucket_start",
        "model_version",
        "predictions",
        "corrections",
        "correction_rate",
        "ci_low",
        "ci_high",
        "complaints",
        "complaint_rate",
        "online_accuracy_proxy",
        "online_accuracy_among_feedback",
        "partial_bucket",
    ]
    rows = []
    for row in series:
        ci = row["correction_rate_ci"] or (None, None)
        rows.append(
            [
                _day(row["bucket_start"]),
                row["model_version"],
                row["predictions"],
                row["corrections"],
                rounded(row["correction_rate"]),
                rounded(ci[0]),
                rounded(ci[1]),
                row["complaints"],
                rounded(row["complaint_rate"]),
                rounded(row["online_accuracy_proxy"]),
                rounded(row["online_accuracy_among_feedback"]),
                "yes" if row.get("partial") else "",
            ]
        )
    return {"columns": columns, "rows": rows}


def offline_online_table(versions: list[dict]) -> dict:
    columns = [
        "model_version",
        "offline_accuracy",
        "online_accuracy_proxy",
        "online_accuracy_among_feedback",
        "gap",
        "predictions",
        "predictions_with_feedback",
        "corrections",
    ]
    rows = [
        [
            v["version"],
            rounded(v["offline"]),
            rounded(v["online"]),
            rounded(v["among_feedback"]),
            rounded(v["gap"]),
            v["predictions"],
            v["feedback_predictions"],
            v["corrections"],
        ]
        for v in versions
    ]
    return {"columns": columns, "rows": rows, "flags": [v["highlighted"] for v in versions]}


def confusion_table(confusion: dict) -> dict:
    return {
        "columns": ["predicted", "corrected", "corrections", "share_of_label_corrections"],
        "rows": [
            [p["predicted"], p["corrected"], p["count"], rounded(p["share"])]
            for p in confusion["pairs"]
        ],
    }


def precision_table(confusion: dict) -> dict:
    return {
        "columns": ["predicted_label", "predictions", "corrections", "precision_proxy"],
        "rows": [
            [label, n, k, rounded(precision)] for label, n, k, precision in confusion["precision"]
        ],
    }


def collapse_table(collapse: dict) -> dict:
    columns = [
        "bucket_start",
        "model_version",
        "predictions",
        "top_label",
        "top_share",
        "reference_share",
        "collapse",
        "partial_bucket",
    ]
    buckets = collapse["buckets"]
    rows = [
        [
            _day(b["start"]),
            b["version"],
            b["predictions"],
            b["label"],
            rounded(b["share"]),
            rounded(b["reference_share"]),
            "yes" if b["flagged"] else "",
            "yes" if b["partial"] else "",
        ]
        for b in buckets
    ]
    return {"columns": columns, "rows": rows, "flags": [b["flagged"] for b in buckets]}


def drift_table(drift: list[dict]) -> dict:
    columns = [
        "bucket_start",
        "model_version",
        "predictions",
        "psi_labels",
        "q_labels",
        "labels_band",
        "label_moved_most",
        "psi_confidence",
        "q_confidence",
        "confidence_band",
        "reference",
    ]
    rows = [
        [
            _day(d["start"]),
            d["version"],
            d["predictions"],
            rounded(d["psi_labels"]),
            rounded(d["q_labels"]),
            d["labels_band"],
            d["label_moved"] or "",
            rounded(d["psi_confidence"]),
            rounded(d["q_confidence"]),
            d["confidence_band"],
            d["reference"],
        ]
        for d in drift
    ]
    return {"columns": columns, "rows": rows, "flags": [d["flagged"] for d in drift]}


def reliability_table(reliability: list[dict]) -> dict:
    columns = [
        "model_version",
        "confidence_from",
        "confidence_to",
        "predictions",
        "corrections",
        "correction_rate",
        "expected_if_calibrated",
    ]
    rows = [
        [
            v["version"],
            r["bin_low"],
            r["bin_high"],
            r["predictions"],
            r["corrections"],
            rounded(r["correction_rate"]),
            rounded(r["expected_rate"]),
        ]
        for v in reliability
        for r in v["curve"]
    ]
    return {"columns": columns, "rows": rows}


def threshold_table(reliability: list[dict]) -> dict:
    thresholds = [v["thresholds"] for v in reliability]
    return {
        "columns": [
            "model_version",
            "threshold",
            "share_answered",
            "predictions_answered",
            "correction_rate_answered",
            "ci_low",
            "ci_high",
            "share_to_human",
            "corrections_caught_by_human",
        ],
        "rows": [
            [
                t["version"],
                round(r["threshold"], 3),
                rounded(r["share_above"]),
                r["predictions_above"],
                rounded(r["correction_rate_above"]),
                rounded((r["ci_above"] or (None, None))[0]),
                rounded((r["ci_above"] or (None, None))[1]),
                rounded(r["share_below"]),
                r["corrections_below"],
            ]
            for t in thresholds
            for r in t["rows"]
        ],
        # The suggested threshold of each version is highlighted.
        "flags": [r["threshold"] == t["suggested"] for t in thresholds for r in t["rows"]],
    }


def service_table(service: list[dict]) -> dict:
    columns = [
        "model_version",
        "predictions",
        "hours_with_traffic",
        "average_per_second",
        "peak_per_second",
        "latency_p50_ms",
        "latency_p95_ms",
        "sla_p95_ms",
        "within_sla",
    ]
    rows = [
        [
            s["version"],
            s["predictions"],
            s["hours"],
            rounded(s["per_second"], 3),
            s["peak"],
            rounded(s["p50"], 1),
            rounded(s["p95"], 1),
            rounded(s["sla"], 1),
            "" if s["p95"] is None or s["sla"] is None else ("no" if s["breach"] else "yes"),
        ]
        for s in service
    ]
    return {"columns": columns, "rows": rows, "flags": [s["breach"] for s in service]}


def latency_table(latency: list[dict]) -> dict:
    columns = [
        "bucket_start",
        "model_version",
        "latencies",
        "latency_p50_ms",
        "latency_p95_ms",
        "partial_bucket",
    ]
    rows = [
        [
            _day(p["start"]),
            p["version"],
            p["latencies"],
            rounded(p["p50"], 1),
            rounded(p["p95"], 1),
            "yes" if p["partial"] else "",
        ]
        for p in latency
    ]
    return {"columns": columns, "rows": rows}


def section_table(overview: dict, section_id: str) -> dict | None:
    """The table of one section (for its CSV download); sections with two tables name the
    second one `<id>-<name>` (confusion-precision, reliability-thresholds, service-latency)."""
    extra = {
        "confusion-precision": "precision_table",
        "reliability-thresholds": "threshold_table",
        "service-latency": "latency_table",
    }
    for section in overview["sections"]:
        if section["id"] == section_id:
            return section["table"]
        for key, name in extra.items():
            if key == section_id and section["id"] == key.split("-")[0]:
                return section[name]
    return None
