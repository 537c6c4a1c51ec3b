"""Rollup rows folded into sums: per model version (`Totals`) and per (bucket start, version)
cell as numpy matrices (`BucketShares`). Plain Python and numpy, no Django: the rows come in
as dicts (`queries.py` reads them)."""

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np

from .. import metrics

BUCKET_LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7)}


def bucket_start(hour: datetime, bucket: str) -> datetime:
    day = hour.replace(hour=0)
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def bucket_partial(
    start: datetime, bucket: str, since: datetime | None, until: datetime | None
) -> bool:
    """Whether the period holds only part of a bucket (the day still going on, a week cut by
    the period's start): its counts are not comparable with whole buckets'."""
    return (since is not None and start < since) or (
        until is not None and start + BUCKET_LENGTH[bucket] > until
    )


def add_counts(target: dict, source: dict) -> None:
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
            add_counts(self.labels, row.get("label_counts") or {})
            _add_list(self.conf_n, row.get("confidence_predictions") or [])
        if details:
            self.add_details(row)

    def add_details(self, row: dict) -> None:
        for predicted, corrected in (row.get("corrected_pairs") or {}).items():
            add_counts(self.pairs.setdefault(predicted, {}), corrected)
        _add_list(self.conf_k, row.get("confidence_corrections") or [])
        for bucket, n in (row.get("latency_sketch") or {}).items():
            self.sketch[int(bucket)] = self.sketch.get(int(bucket), 0) + n
        self.peak = max(self.peak, row.get("peak_per_second") or 0)


# A version without a reference (drift and collapse then say nothing about it).
NO_REFERENCE = (Totals(), "")


class BucketShares:
    """Label counts and confidence histograms of each (bucket start, version id) cell as
    matrices (cells × labels, cells × confidence bins), cells in the order they first appear
    in the rows. A year per day is ~365 cells × 77 labels: collapse and drift are then array
    operations, not a PSI and a top share computed label by label for every bucket.

    The label axis is sorted and holds every label of the rows and of `extra_labels` (the
    references): a label absent from both sides of a PSI adds exactly 0 to it, so the PSI of
    a cell equals `metrics.psi_of_mappings` over the union of its labels."""

    def __init__(
        self,
        rows: list[dict],
        bucket: str,
        extra_labels=(),
        since: datetime | None = None,
        until: datetime | None = None,
    ):
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
        # Cells of a bucket the period holds only part of (`bucket_partial`).
        self.partial = [bucket_partial(start, bucket, since, until) for start, _ in self.keys]
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
