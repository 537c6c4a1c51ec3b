"""The chart data of the overview's sections, from their figures (`figures.py`): the JSON the
page hands to Chart.js (static/js/dashboards.js draws each `kind`), and the confusion matrix's
heat map. Unknown values stay None (null in the JSON), never 0."""

from collections import defaultdict


def _day(start) -> str:
    return start.date().isoformat()


def rates_chart(series: list[dict]) -> dict:
    datasets = defaultdict(list)
    for row in series:
        ci = row["correction_rate_ci"] or (None, None)
        datasets[row["model_version"]].append(
            {
                "x": _day(row["bucket_start"]),
                "y": row["correction_rate"],
                "lo": ci[0],
                "hi": ci[1],
                "complaint": row["complaint_rate"],
                "partial": row.get("partial", False),
            }
        )
    return {"kind": "rates", "series": datasets}


def offline_online_chart(versions: list[dict]) -> dict:
    return {
        "kind": "offline",
        "labels": [v["version"] for v in versions],
        "offline": [v["offline"] for v in versions],
        "online": [v["online"] for v in versions],
        "feedback": [v["among_feedback"] for v in versions],
    }


def confusion_chart(confusion: dict) -> dict:
    pairs = confusion["pairs"]
    return {
        "kind": "pairs",
        "labels": [f"{p['predicted']} → {p['corrected']}" for p in pairs],
        "values": [p["count"] for p in pairs],
    }


def confusion_heat_map(confusion: dict) -> dict:
    """The grid as rows of cells, each shaded by its share of the largest cell."""
    columns, matrix = confusion["columns"], confusion["matrix"]
    max_cell = max((v for row in matrix.values() for v in row.values()), default=0)
    return {
        "columns": columns,
        "shown": confusion["shown"],
        "total": confusion["total"],
        "rows": [
            {
                "label": p,
                "cells": [
                    {"n": matrix[p][c], "alpha": round(matrix[p][c] / max_cell, 2)}
                    if max_cell
                    else {"n": 0, "alpha": 0}
                    for c in columns
                ],
            }
            for p in confusion["rows"]
        ],
    }


def collapse_chart(collapse: dict) -> dict:
    shares = collapse["shares"]
    datasets = [
        {
            "label": label,
            "values": [
                round(n / total, 4) if total else None
                for n, total in zip(counts, shares["totals"], strict=True)
            ],
        }
        for label, counts in zip(shares["labels"], shares["counts"], strict=True)
    ]
    return {
        "kind": "shares",
        "labels": [_day(start) for start in shares["starts"]],
        "datasets": datasets,
    }


def drift_chart(drift: list[dict]) -> dict:
    series = defaultdict(list)
    for d in drift:
        series[d["version"]].append(
            {
                "x": _day(d["start"]),
                "labels": d["psi_labels"],
                "confidence": d["psi_confidence"],
                # A point is coloured only when its change is beyond noise (figures.drift).
                "labels_band": d["labels_band"],
                "confidence_band": d["confidence_band"],
            }
        )
    return {"kind": "psi", "series": series}


def reliability_chart(reliability: list[dict]) -> dict:
    series = {
        v["version"]: [
            {"x": round((r["bin_low"] + r["bin_high"]) / 2, 3), "y": r["correction_rate"]}
            for r in v["curve"]
        ]
        for v in reliability
    }
    return {"kind": "reliability", "series": series}


def latency_chart(latency: list[dict], sla_p95_ms: float | None) -> dict:
    series = defaultdict(list)
    for point in latency:
        series[point["version"]].append(
            {
                "x": _day(point["start"]),
                "p50": point["p50"],
                "p95": point["p95"],
                "partial": point["partial"],
            }
        )
    return {"kind": "latency", "series": series, "sla": sla_p95_ms}
