"""The overview page's figures, folded from the hourly rollups of the chosen period.

Every section is a dict with a `table` (columns and rows: the page shows it and the CSV
download writes it) and a `chart` (the Chart.js data the page draws from the same numbers).
Reads: the rollups of the period (daily rows for whole days, hourly ones for the ends; a long
period per day reads its per-version details once more from weekly rows), the reference
windows for drift, the unlinked complaints, the project's categories for the confused pairs.
The per-bucket work (top shares, PSI, share charts) is done on numpy matrices of the buckets
(`BucketShares`): a year per day is 365 buckets per version.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Min

from feedback.models import ModelVersion, Project
from triage.models import ErrorCategory

from . import metrics
from .models import DashboardSettings, MetricRollup, MetricRollupDay
from .selectors import metrics_series, rollup_rows

# Labels shown in the confusion matrix; the rest are grouped as OTHER.
CONFUSION_TOP_LABELS = 8
TOP_PAIRS = 10
OTHER = "(other)"
# Prediction collapse: a label is flagged in a bucket when its share there is at least
# COLLAPSE_MIN_SHARE and at least COLLAPSE_RATIO times its share in the reference window.
COLLAPSE_MIN_SHARE = 0.5
COLLAPSE_RATIO = 2.0
# Buckets with fewer predictions say little about shares: not flagged, not scored for drift.
MIN_BUCKET_PREDICTIONS = 30
# Drift reference by default: the previous version's first weeks of traffic.
REFERENCE_DAYS = 14
# Offline vs online: a gap at least this large (in accuracy points) is highlighted.
GAP_HIGHLIGHT = 0.05
LABELS_IN_SHARE_CHART = 6


@dataclass
class OverviewQuery:
    since: datetime
    until: datetime
    bucket: str = "day"
    versions: list[ModelVersion] = field(default_factory=list)
    # "previous" (the previous version's first weeks) or "window" (reference_since/until).
    reference: str = "previous"
    reference_since: datetime | None = None
    reference_until: datetime | None = None
    # Every version of the project, oldest first, when the caller already has them.
    project_versions: list[ModelVersion] | None = None

    def all_versions(self, project: Project) -> list[ModelVersion]:
        if self.project_versions is None:
            self.project_versions = list(
                ModelVersion.objects.filter(project=project).order_by("released_at", "id")
            )
        return self.project_versions


def bucket_start(hour: datetime, bucket: str) -> datetime:
    day = hour.replace(hour=0)
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def data_end(project: Project) -> datetime | None:
    """End of the last hour with rollups: the default end of the period."""
    last = MetricRollup.objects.filter(project=project).order_by("-hour").first()
    return last.hour + timedelta(hours=1) if last else None


def _add(target: dict, source: dict) -> None:
    for key, n in source.items():
        target[key] = target.get(key, 0) + n


def _add_list(target: list, source: list) -> None:
    for i, n in enumerate(source[: len(target)]):
        target[i] += n


class Totals:
    """Sums of rollup rows (counts, label counts, pairs, histograms, sketch)."""

    def __init__(self):
        self.counts = defaultdict(int)
        self.labels: dict[str, int] = {}
        self.pairs: dict[str, dict[str, int]] = {}
        self.conf_n = [0] * metrics.CONFIDENCE_BINS
        self.conf_k = [0] * metrics.CONFIDENCE_BINS
        self.sketch: dict[int, int] = {}
        self.peak = 0
        self.hours = 0

    def add(self, row: dict, shares: bool = True, details: bool = True) -> None:
        """Add a row; `shares=False` leaves out the label counts and the confidence histogram
        (the caller adds them from the per-bucket matrices), `details=False` the corrected
        pairs, corrections per confidence, latency sketch and peak (the caller adds them from
        coarser rows of the same period: the same sums, fewer rows)."""
        for name in ("predictions", "feedback_predictions", "corrections", "complaints"):
            self.counts[name] += row.get(name) or 0
        self.hours += row.get("active_hours", 1 if row.get("predictions") else 0)
        if shares:
            _add(self.labels, row.get("label_counts") or {})
            _add_list(self.conf_n, row.get("confidence_predictions") or [])
        if details:
            self.add_details(row)

    def add_details(self, row: dict) -> None:
        for predicted, corrected in (row.get("corrected_pairs") or {}).items():
            _add(self.pairs.setdefault(predicted, {}), corrected)
        _add_list(self.conf_k, row.get("confidence_corrections") or [])
        for bucket, n in (row.get("latency_sketch") or {}).items():
            self.sketch[int(bucket)] = self.sketch.get(int(bucket), 0) + n
        self.peak = max(self.peak, row.get("peak_per_second") or 0)


class BucketShares:
    """Label counts and confidence histograms of each (bucket start, version id) cell as
    matrices (cells × labels, cells × confidence bins), cells in the order they first appear
    in the rows. A year per day is ~365 cells × 77 labels: collapse and drift are then array
    operations, not a PSI and a top share computed label by label for every bucket.

    The label axis is sorted and holds every label of the rows and of `extra_labels` (the
    references): a label absent from both sides of a PSI adds exactly 0 to it, so the PSI of
    a cell equals `metrics.psi_of_mappings` over the union of its labels."""

    def __init__(self, rows: list[dict], bucket: str, extra_labels=()):
        index: dict[tuple, int] = {}
        cell_of_row, label_rows, conf_rows = [], [], []
        names = set(extra_labels)
        predictions: list[int] = []
        for row in rows:
            key = (bucket_start(row["hour"], bucket), row["model_version_id"])
            i = index.get(key)
            if i is None:
                i = index[key] = len(index)
                predictions.append(0)
            predictions[i] += row.get("predictions") or 0
            cell_of_row.append(i)
            labels = row.get("label_counts") or {}
            names.update(labels)
            label_rows.append(labels)
            conf = (row.get("confidence_predictions") or [])[: metrics.CONFIDENCE_BINS]
            conf_rows.append(conf + [0] * (metrics.CONFIDENCE_BINS - len(conf)))
        self.keys = list(index)
        self.labels = sorted(names)
        column = {label: j for j, label in enumerate(self.labels)}
        n_cells, n_labels = len(self.keys), len(self.labels)
        cells, columns, counts = [], [], []
        for i, labels in zip(cell_of_row, label_rows, strict=True):
            cells.extend([i] * len(labels))
            columns.extend(map(column.__getitem__, labels))
            counts.extend(labels.values())
        flat = np.asarray(cells, dtype=np.int64) * n_labels + np.asarray(columns, dtype=np.int64)
        self.counts = np.zeros(n_cells * n_labels, dtype=np.int64)
        np.add.at(self.counts, flat, np.asarray(counts, dtype=np.int64))
        self.counts = self.counts.reshape(n_cells, n_labels)
        self.conf = np.zeros((n_cells, metrics.CONFIDENCE_BINS), dtype=np.int64)
        if conf_rows:
            np.add.at(self.conf, np.asarray(cell_of_row), np.asarray(conf_rows, dtype=np.int64))
        self.predictions = predictions
        self.versions = np.asarray([version_id for _, version_id in self.keys], dtype=np.int64)

    def label_vector(self, counts: dict[str, int]) -> np.ndarray:
        return np.asarray([counts.get(label, 0) for label in self.labels], dtype=np.int64)

    def version_labels(self, version_id: int) -> dict[str, int]:
        """Label counts of a version: the sums of its cells (labels it never predicted left
        out, as in the rollups)."""
        sums = self.counts[self.versions == version_id].sum(axis=0)
        return {self.labels[j]: int(sums[j]) for j in np.flatnonzero(sums)}

    def version_conf(self, version_id: int) -> list[int]:
        return self.conf[self.versions == version_id].sum(axis=0).tolist()

    def order(self) -> list[int]:
        """Cells by bucket start (stable: a start's cells keep their order of appearance)."""
        return sorted(range(len(self.keys)), key=lambda i: self.keys[i][0])


# A version without a reference (drift and collapse then say nothing about it).
NO_REFERENCE = (Totals(), "")

ROW_FIELDS = [
    "model_version_id",
    "hour",
    "predictions",
    "feedback_predictions",
    "corrections",
    "complaints",
    "ratings_up",
    "ratings_down",
    "label_counts",
    "corrected_pairs",
    "confidence_predictions",
    "confidence_corrections",
    "latency_sketch",
    "peak_per_second",
]
# What the per-version totals need beyond the per-bucket rows. A long period per day reads
# them from a second, coarser read (weekly rows for its whole weeks): corrected pairs and
# latency sketches are most of the rollups' bytes, and ~53 rows of them are cheaper to fetch
# and decode than ~365.
DETAIL_FIELDS = [
    "model_version_id",
    "corrected_pairs",
    "confidence_corrections",
    "latency_sketch",
    "peak_per_second",
]
BUCKET_FIELDS = [f for f in ROW_FIELDS if f not in DETAIL_FIELDS or f == "model_version_id"]
COARSE_DETAILS_AFTER = timedelta(days=35)
# Drift and collapse compare with a reference's label counts and confidences only.
REFERENCE_FIELDS = ["model_version_id", "predictions", "label_counts", "confidence_predictions"]


def _pct(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{100 * value:.{digits}f} %"


def _num(value: float | None, digits: int = 4) -> float | str:
    return "" if value is None else round(value, digits)


def overview_build(*, project: Project, query: OverviewQuery) -> dict:
    """All sections of the overview page for the query's period, versions and reference."""
    versions = query.versions or query.all_versions(project)
    names = {v.id: v.version for v in versions}
    weeks = query.bucket == "week"
    # A long period per day: the per-version details from a coarser read (see DETAIL_FIELDS).
    coarse = not weeks and query.until - query.since > COARSE_DETAILS_AFTER
    period = {"project": project, "version_ids": list(names), "since": query.since,
              "until": query.until}  # fmt: skip
    rows = rollup_rows(**period, fields=BUCKET_FIELDS if coarse else ROW_FIELDS, weeks=weeks)
    per_version: dict[int, Totals] = {v.id: Totals() for v in versions}
    for row in rows:
        per_version[row["model_version_id"]].add(row, shares=False, details=not coarse)
    if coarse:
        for row in rollup_rows(**period, fields=DETAIL_FIELDS, weeks=True):
            per_version[row["model_version_id"]].add_details(row)
    references = _references(project, query, versions)
    reference_labels = {label for totals, _ in references.values() for label in totals.labels}
    cells = BucketShares(rows, query.bucket, reference_labels)
    # A version's label counts and confidences are the sums of its buckets'.
    for version_id, totals in per_version.items():
        totals.labels = cells.version_labels(version_id)
        totals.conf_n = cells.version_conf(version_id)
    active = [v for v in versions if per_version[v.id].counts["predictions"]]
    settings = DashboardSettings.for_project(project)
    unlinked = sum(
        row["complaints"]
        for row in rollup_rows(
            project=project, fields=["complaints"], since=query.since, until=query.until,
            unlinked_only=True,
        )
    )  # fmt: skip
    series = metrics_series(
        project=project,
        bucket=query.bucket,
        versions=list(names.values()),
        since=query.since,
        until=query.until,
        rows=rows,
    )
    return {
        "versions": active,
        "headline": _headline(active, per_version),
        "has_data": bool(rows),
        "unlinked_complaints": unlinked,
        "settings": settings,
        "sections": [
            _rates_section(series),
            _offline_online_section(active, per_version),
            _confusion_section(project, per_version),
            _collapse_section(active, cells, references, names),
            _drift_section(active, cells, references, names),
            _reliability_section(active, per_version, settings),
            _service_section(active, per_version, settings),
        ],
    }


def _references(project: Project, query: OverviewQuery, versions: list[ModelVersion]) -> dict:
    """Reference Totals per version id: the chosen window for all, or the previous version's
    (the first version's own) first REFERENCE_DAYS of traffic."""
    if query.reference == "window" and query.reference_since and query.reference_until:
        total = Totals()
        for row in rollup_rows(
            project=project, fields=REFERENCE_FIELDS, since=query.reference_since,
            until=query.reference_until,
        ):  # fmt: skip
            total.add(row)
        return {v.id: (total, "the chosen window") for v in versions}
    ordered = query.all_versions(project)
    # Each version's first day of traffic (the daily rows: a few hundred for a year).
    first_hours = dict(
        MetricRollupDay.objects.filter(project=project, model_version__isnull=False)
        .values("model_version_id")
        .annotate(first=Min("day"))
        .values_list("model_version_id", "first")
    )
    source_of = {}
    for version in versions:
        index = ordered.index(version) if version in ordered else 0
        candidates = [v for v in ordered[:index] if v.id in first_hours][-1:] or [version]
        source_of[version.id] = candidates[0]
    wanted = {s.id for s in source_of.values() if s.id in first_hours}
    totals: dict[int, Totals] = defaultdict(Totals)
    for version_id in wanted:
        start = first_hours[version_id]
        for row in rollup_rows(
            project=project, fields=REFERENCE_FIELDS, version_ids=[version_id], since=start,
            until=start + timedelta(days=REFERENCE_DAYS),
        ):  # fmt: skip
            totals[row["model_version_id"]].add(row)
    return {
        version_id: (
            totals[source.id],
            f"{source.version}'s first {REFERENCE_DAYS} days",
        )
        for version_id, source in source_of.items()
    }


def _headline(versions: list[ModelVersion], per_version: dict) -> dict:
    """One line per version (correction rate with its interval, complaint rate, online proxy,
    offline accuracy) and how the newest version compares with the one before it."""
    rows = []
    for version in versions:
        c = per_version[version.id].counts
        n = c["predictions"]
        rows.append(
            {
                "version": version.version,
                "predictions": n,
                "correction_rate": metrics.rate(c["corrections"], n),
                "ci": metrics.wilson_interval(c["corrections"], n),
                "complaint_rate": metrics.rate(c["complaints"], n),
                "offline_accuracy": (version.offline_metrics or {}).get("accuracy"),
            }
        )
    comparison = None
    if len(rows) >= 2 and rows[-1]["correction_rate"] and rows[-2]["correction_rate"]:
        new, old = rows[-1], rows[-2]
        change = new["correction_rate"] / old["correction_rate"] - 1
        # Only a change whose intervals do not overlap is called better or worse.
        separated = new["ci"][1] < old["ci"][0] or new["ci"][0] > old["ci"][1]
        comparison = {
            "new": new["version"],
            "old": old["version"],
            "change": abs(change),
            "better": change < 0,
            "significant": separated,
        }
    return {"rows": rows, "comparison": comparison}


# --- sections --------------------------------------------------------------------------------


def _rates_section(series: list[dict]) -> dict:
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
    ]
    table_rows, datasets = [], defaultdict(list)
    for row in series:
        ci = row["correction_rate_ci"] or (None, None)
        table_rows.append(
            [
                row["bucket_start"].date().isoformat(),
                row["model_version"],
                row["predictions"],
                row["corrections"],
                _num(row["correction_rate"]),
                _num(ci[0]),
                _num(ci[1]),
                row["complaints"],
                _num(row["complaint_rate"]),
                _num(row["online_accuracy_proxy"]),
                _num(row["online_accuracy_among_feedback"]),
            ]
        )
        datasets[row["model_version"]].append(
            {
                "x": row["bucket_start"].date().isoformat(),
                "y": row["correction_rate"],
                "lo": ci[0],
                "hi": ci[1],
                "complaint": row["complaint_rate"],
            }
        )
    return {
        "id": "rates",
        "title": "Correction and complaint rates",
        "lead": "Corrections per prediction, per model version, with 95 % Wilson intervals.",
        "chart": {"kind": "rates", "series": datasets},
        "table": {"columns": columns, "rows": table_rows},
    }


def _offline_online_section(versions: list[ModelVersion], per_version: dict) -> dict:
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
    rows, flags, chart = [], [], {"labels": [], "offline": [], "online": [], "feedback": []}
    for version in versions:
        c = per_version[version.id].counts
        offline = (version.offline_metrics or {}).get("accuracy")
        online = metrics.rate(c["predictions"] - c["corrections"], c["predictions"])
        among = (
            1 - metrics.rate(c["corrections"], c["feedback_predictions"])
            if c["feedback_predictions"]
            else None
        )
        gap = offline - among if offline is not None and among is not None else None
        rows.append(
            [
                version.version,
                _num(offline),
                _num(online),
                _num(among),
                _num(gap),
                c["predictions"],
                c["feedback_predictions"],
                c["corrections"],
            ]
        )
        flags.append(gap is not None and abs(gap) >= GAP_HIGHLIGHT)
        chart["labels"].append(version.version)
        chart["offline"].append(offline)
        chart["online"].append(online)
        chart["feedback"].append(among)
    return {
        "id": "offline-online",
        "title": "Offline vs online",
        "lead": "Accuracy measured at release next to the online proxies (1 − correction "
        "rate, over all predictions and over those that received feedback). The gap is offline "
        f"minus online among feedback; {GAP_HIGHLIGHT:.0%} or more is highlighted.",
        "chart": {"kind": "offline", **chart},
        "table": {"columns": columns, "rows": rows, "flags": flags},
    }


def _category_for_pairs(project: Project) -> dict[tuple[str, str], dict]:
    best: dict[tuple[str, str], tuple[int, dict]] = {}
    for category in ErrorCategory.objects.filter(
        project=project, merged_into__isnull=True, is_unsorted=False
    ).values("id", "title", "top_confusions"):
        for confusion in category["top_confusions"] or []:
            try:
                key = (confusion["predicted"], confusion["corrected"])
                count = int(confusion.get("count", 0))
            except (KeyError, TypeError, ValueError):
                continue
            if key not in best or count > best[key][0]:
                best[key] = (count, {"id": category["id"], "title": category["title"]})
    return {key: value for key, (_, value) in best.items()}


def _confusion_section(project: Project, per_version: dict) -> dict:
    pairs: dict[str, dict[str, int]] = {}
    labels: dict[str, int] = {}
    for totals in per_version.values():
        for predicted, corrected in totals.pairs.items():
            _add(pairs.setdefault(predicted, {}), corrected)
        _add(labels, totals.labels)
    involvement: dict[str, int] = defaultdict(int)
    flat = []
    for predicted, corrected in pairs.items():
        for label, n in corrected.items():
            involvement[predicted] += n
            involvement[label] += n
            flat.append((n, predicted, label))
    top = sorted(involvement, key=lambda k: (-involvement[k], k))[:CONFUSION_TOP_LABELS]
    axis = top + ([OTHER] if len(involvement) > len(top) else [])
    matrix = {p: dict.fromkeys(axis, 0) for p in axis}
    for n, predicted, label in flat:
        p = predicted if predicted in top else OTHER
        c = label if label in top else OTHER
        matrix[p][c] += n
    corrections_of = {p: sum(c.values()) for p, c in pairs.items()}
    categories = _category_for_pairs(project)
    top_pairs = []
    for n, predicted, label in sorted(flat, key=lambda t: (-t[0], t[1], t[2]))[:TOP_PAIRS]:
        top_pairs.append(
            {
                "predicted": predicted,
                "corrected": label,
                "count": n,
                "share": metrics.rate(n, corrections_of[predicted]),
                "category": categories.get((predicted, label)),
            }
        )
    precision = []
    for label in sorted(labels, key=lambda k: (-labels[k], k)):
        n, k = labels[label], corrections_of.get(label, 0)
        precision.append([label, n, k, _num(1 - k / n if n else None)])
    max_cell = max((v for row in matrix.values() for v in row.values()), default=0)
    return {
        "id": "confusion",
        "title": "Confusion from corrections",
        "lead": "What the model predicted (rows) against what customers corrected it to "
        f"(columns): the {CONFUSION_TOP_LABELS} labels most involved, the rest grouped.",
        "chart": {
            "kind": "pairs",
            "labels": [f"{p['predicted']} → {p['corrected']}" for p in top_pairs],
            "values": [p["count"] for p in top_pairs],
        },
        "matrix": {
            "axis": axis,
            "rows": [
                {
                    "label": p,
                    "cells": [
                        {"n": matrix[p][c], "alpha": round(matrix[p][c] / max_cell, 2)}
                        if max_cell
                        else {"n": 0, "alpha": 0}
                        for c in axis
                    ],
                }
                for p in axis
            ],
        },
        "pairs": top_pairs,
        "precision": precision[:30],
        "table": {
            "columns": ["predicted", "corrected", "corrections", "share_of_label_corrections"],
            "rows": [
                [p["predicted"], p["corrected"], p["count"], _num(p["share"])] for p in top_pairs
            ],
        },
        "precision_table": {
            "columns": ["predicted_label", "predictions", "corrections", "precision_proxy"],
            "rows": precision,
        },
    }


def _collapse_section(versions, cells: BucketShares, references, names) -> dict:
    columns = [
        "bucket_start",
        "model_version",
        "predictions",
        "top_label",
        "top_share",
        "reference_share",
        "collapse",
    ]
    rows, flags = [], []
    wanted = {v.id for v in versions}
    totals = cells.counts.sum(axis=1).tolist()
    # The most frequent label of each cell; the first in label order on a tie.
    tops = cells.counts.argmax(axis=1).tolist() if cells.labels else [0] * len(cells.keys)
    top_counts = cells.counts[np.arange(len(tops)), tops].tolist() if cells.labels else tops
    reference_totals = {
        version_id: sum(reference.labels.values())
        for version_id, (reference, _) in references.items()
    }
    order = cells.order()
    for i in order:
        start, version_id = cells.keys[i]
        if version_id not in wanted or not totals[i]:
            continue
        label, share = cells.labels[tops[i]], top_counts[i] / totals[i]
        reference = references.get(version_id, NO_REFERENCE)[0]
        ref_share = metrics.rate(
            reference.labels.get(label, 0), reference_totals.get(version_id, 0)
        )
        flagged = (
            cells.predictions[i] >= MIN_BUCKET_PREDICTIONS
            and share >= COLLAPSE_MIN_SHARE
            and (ref_share is None or share >= COLLAPSE_RATIO * ref_share)
        )
        rows.append(
            [
                start.date().isoformat(),
                names[version_id],
                cells.predictions[i],
                label,
                _num(share),
                _num(ref_share),
                "yes" if flagged else "",
            ]
        )
        flags.append(flagged)
    # The share chart: all versions of a bucket together.
    starts = sorted({start for start, _ in cells.keys})
    start_index = {start: j for j, start in enumerate(starts)}
    combined = np.zeros((len(starts), len(cells.labels)), dtype=np.int64)
    if len(cells.keys):
        np.add.at(combined, [start_index[start] for start, _ in cells.keys], cells.counts)
    overall = combined.sum(axis=0).tolist()
    shown = sorted(
        (j for j, n in enumerate(overall) if n), key=lambda j: (-overall[j], cells.labels[j])
    )[:LABELS_IN_SHARE_CHART]
    start_totals = combined.sum(axis=1).tolist()
    shown_counts = [combined[:, j].tolist() for j in shown]
    others = (start_totals - combined[:, shown].sum(axis=1)).tolist()
    datasets = []
    for label, counts in zip(
        [*(cells.labels[j] for j in shown), OTHER], [*shown_counts, others], strict=True
    ):
        values = [
            round(n / total, 4) if total else None
            for n, total in zip(counts, start_totals, strict=True)
        ]
        datasets.append({"label": label, "values": values})
    return {
        "id": "collapse",
        "title": "Prediction collapse",
        "lead": "Share of each predicted label over time. A bucket is flagged when one label "
        f"takes {COLLAPSE_MIN_SHARE:.0%} or more of the answers and at least "
        f"{COLLAPSE_RATIO:g}× its share in the reference (the majority-class trap).",
        "chart": {
            "kind": "shares",
            "labels": [s.date().isoformat() for s in starts],
            "datasets": datasets,
        },
        "table": {"columns": columns, "rows": rows, "flags": flags},
        "flagged": sum(flags),
    }


def _drift_section(versions, cells: BucketShares, references, names) -> dict:
    columns = [
        "bucket_start",
        "model_version",
        "predictions",
        "psi_labels",
        "labels_band",
        "psi_confidence",
        "confidence_band",
        "reference",
    ]
    rows, flags, series = [], [], defaultdict(list)
    wanted = {v.id for v in versions}
    scored = [
        i
        for i in cells.order()
        if cells.keys[i][1] in wanted and cells.predictions[i] >= MIN_BUCKET_PREDICTIONS
    ]
    # PSI of every scored cell against its version's reference, one version at a time.
    psi_labels: dict[int, float | None] = {}
    psi_conf: dict[int, float | None] = {}
    for version_id in {cells.keys[i][1] for i in scored}:
        mine = [i for i in scored if cells.keys[i][1] == version_id]
        reference = references.get(version_id, NO_REFERENCE)[0]
        label_values = metrics.psi_rows(cells.label_vector(reference.labels), cells.counts[mine])
        conf_values = metrics.psi_rows(
            np.asarray(reference.conf_n, dtype=np.int64), cells.conf[mine]
        )
        psi_labels.update(zip(mine, label_values, strict=True))
        psi_conf.update(zip(mine, conf_values, strict=True))
    for i in scored:
        start, version_id = cells.keys[i]
        described = references.get(version_id, NO_REFERENCE)[1]
        bands = metrics.psi_band(psi_labels[i]), metrics.psi_band(psi_conf[i])
        rows.append(
            [
                start.date().isoformat(),
                names[version_id],
                cells.predictions[i],
                _num(psi_labels[i]),
                bands[0],
                _num(psi_conf[i]),
                bands[1],
                described,
            ]
        )
        flags.append("significant" in bands)
        series[names[version_id]].append(
            {"x": start.date().isoformat(), "labels": psi_labels[i], "confidence": psi_conf[i]}
        )
    return {
        "id": "drift",
        "title": "Drift",
        "lead": "Population stability index of the predicted labels and of the confidence "
        "against the reference; under 0.1 stable, 0.1–0.25 moderate, over 0.25 significant.",
        "chart": {
            "kind": "psi",
            "series": series,
            "bands": [metrics.PSI_MODERATE, metrics.PSI_SIGNIFICANT],
        },
        "table": {"columns": columns, "rows": rows, "flags": flags},
    }


def _reliability_section(versions, per_version, settings) -> dict:
    columns = [
        "model_version",
        "confidence_from",
        "confidence_to",
        "predictions",
        "corrections",
        "correction_rate",
        "expected_if_calibrated",
    ]
    rows, chart, thresholds = [], {}, []
    for version in versions:
        totals = per_version[version.id]
        curve = metrics.reliability(totals.conf_n, totals.conf_k)
        chart[version.version] = [
            {"x": round((r["bin_low"] + r["bin_high"]) / 2, 3), "y": r["correction_rate"]}
            for r in curve
        ]
        for r in curve:
            rows.append(
                [
                    version.version,
                    r["bin_low"],
                    r["bin_high"],
                    r["predictions"],
                    r["corrections"],
                    _num(r["correction_rate"]),
                    _num(r["expected_rate"]),
                ]
            )
        table = metrics.threshold_table(totals.conf_n, totals.conf_k)
        suggested = next(
            (
                t["threshold"]
                for t in table
                if t["correction_rate_above"] is not None
                and t["correction_rate_above"] <= settings.target_correction_rate
                and t["predictions_above"]
            ),
            None,
        )
        row = next((t for t in table if t["threshold"] == suggested), None)
        thresholds.append(
            {
                "version": version.version,
                "rows": table,
                "suggested": suggested,
                "share_answered": row["share_above"] if row else None,
                "rate_answered": row["correction_rate_above"] if row else None,
            }
        )
    threshold_rows = [
        [
            t["version"],
            round(r["threshold"], 3),
            _num(r["share_above"]),
            r["predictions_above"],
            _num(r["correction_rate_above"]),
            _num(r["share_below"]),
            r["corrections_below"],
        ]
        for t in thresholds
        for r in t["rows"]
    ]
    return {
        "id": "reliability",
        "title": "Confidence vs corrections",
        "lead": "Correction rate per confidence bin, from real feedback (a calibrated model is "
        "corrected at about 1 − confidence), and what each threshold would leave to a human. "
        f"Target correction rate above the threshold: {settings.target_correction_rate:.0%}.",
        "chart": {"kind": "reliability", "series": chart},
        "table": {"columns": columns, "rows": rows},
        "thresholds": thresholds,
        "threshold_table": {
            "columns": [
                "model_version",
                "threshold",
                "share_answered",
                "predictions_answered",
                "correction_rate_answered",
                "share_to_human",
                "corrections_caught_by_human",
            ],
            "rows": threshold_rows,
            # The suggested threshold of each version is highlighted.
            "flags": [r["threshold"] == t["suggested"] for t in thresholds for r in t["rows"]],
        },
    }


def _service_section(versions, per_version, settings) -> dict:
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
    rows, flags, chart = [], [], {"labels": [], "p50": [], "p95": []}
    for version in versions:
        totals = per_version[version.id]
        n = totals.counts["predictions"]
        p50 = metrics.sketch_quantile(totals.sketch, 0.5)
        p95 = metrics.sketch_quantile(totals.sketch, 0.95)
        sla = settings.sla_latency_p95_ms
        breach = p95 is not None and sla is not None and p95 > sla
        rows.append(
            [
                version.version,
                n,
                totals.hours,
                _num(n / (totals.hours * 3600) if totals.hours else None, 3),
                totals.peak,
                _num(p50, 1),
                _num(p95, 1),
                _num(sla, 1),
                "" if p95 is None or sla is None else ("no" if breach else "yes"),
            ]
        )
        flags.append(breach)
        chart["labels"].append(version.version)
        chart["p50"].append(p50)
        chart["p95"].append(p95)
    return {
        "id": "service",
        "title": "Service figures",
        "lead": "Predictions per second (average over the hours with traffic, and the busiest "
        "second) and latency quantiles against the project's SLA.",
        "chart": {"kind": "latency", **chart, "sla": settings.sla_latency_p95_ms},
        "table": {"columns": columns, "rows": rows, "flags": flags},
    }


def section_table(overview: dict, section_id: str) -> dict | None:
    """The table of one section (for its CSV download); sections with two tables name the
    second one `<id>-<name>` (confusion-precision, reliability-thresholds)."""
    extra = {"confusion-precision": "precision_table", "reliability-thresholds": "threshold_table"}
    for section in overview["sections"]:
        if section["id"] == section_id:
            return section["table"]
        for key, name in extra.items():
            if key == section_id and section["id"] == key.split("-")[0]:
                return section[name]
    return None
