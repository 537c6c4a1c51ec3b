"""The segments of a period: the rollups' segment counts added up over [since, until) (and the
model version and predicted label as built-in keys), and the failing slices found in them by
`slices.find_slices`. Read by the quality page's Segments section and the segments API."""

from dataclasses import dataclass
from datetime import datetime

from feedback.models import ModelVersion, Project

from ..selectors import rollup_rows, versions_for
from ..slices import FIGURES, Slice, find_slices
from .rollup_segments import SEPARATOR, segments_bound, segments_fold

# Built-in keys, always counted: a metadata key of the same name is left out for them.
VERSION_KEY = "model_version"
LABEL_KEY = "predicted_label"
BUILT_IN_KEYS = (VERSION_KEY, LABEL_KEY)
# A slice is tested only with this many predictions (fewer are listed, never reported).
MIN_PREDICTIONS = 100
FDR = 0.05


@dataclass(frozen=True)
class SegmentTotals:
    """Counts per key and value over a period, with the whole traffic's totals."""

    segments: dict
    predictions: int
    corrections: int
    # version -> its own segment counts (metadata keys only), for the comparison per slice.
    by_version: dict


def segment_totals(
    *,
    project: Project,
    since: datetime | None,
    until: datetime | None,
    versions: list[str] | None = None,
    known_versions: list[ModelVersion] | None = None,
) -> SegmentTotals:
    """The period's segment counts of the given versions (every version when None);
    `known_versions`: the project's versions when the caller has them already."""
    project_versions = known_versions if known_versions is not None else versions_for(project)
    chosen = [v for v in project_versions if not versions or v.version in versions]
    names = {v.id: v.version for v in chosen}
    rows = rollup_rows(
        project=project,
        fields=[
            "model_version_id",
            "predictions",
            "corrections",
            "label_counts",
            "corrected_pairs",
            "segment_counts",
        ],
        version_ids=list(names),
        since=since,
        until=until,
        weeks=True,  # whole weeks from weekly rows: a year is ~53 rows a version
    )
    segments: dict = {}
    by_version: dict = {}
    predictions = corrections = 0
    for row in rows:
        version = names.get(row["model_version_id"])
        if version is None:
            continue
        predictions += row["predictions"]
        corrections += row["corrections"]
        own = {k: v for k, v in (row["segment_counts"] or {}).items() if not _built_in(k)}
        segments_fold(segments, own)
        segments_fold(by_version.setdefault(version, {}), own)
        blank = [0] * len(FIGURES)
        segments_fold(
            segments,
            {
                VERSION_KEY: {
                    version: [row["predictions"], row["corrections"], *blank[2:]],
                },
                LABEL_KEY: {
                    label: [n, min(n, _corrected(row["corrected_pairs"], label)), *blank[2:]]
                    for label, n in (row["label_counts"] or {}).items()
                },
            },
        )
    if len(names) < 2:
        segments.pop(VERSION_KEY, None)  # one version: the whole traffic, not a slice
    # Each day keeps its busiest values; over a period they add up to more: keep the period's
    # busiest (the rest as (other)), so a key of many values costs the same every period.
    segments_bound(segments)
    for counts in by_version.values():
        segments_bound(counts)
    return SegmentTotals(segments, predictions, corrections, by_version)


def _built_in(key: str) -> bool:
    return any(part in BUILT_IN_KEYS for part in key.split(SEPARATOR))


def _corrected(pairs: dict | None, label: str) -> int:
    """Corrected predictions of one predicted label (a prediction corrected to two labels
    counts in both pairs, so this can exceed its corrected predictions slightly)."""
    return sum((pairs or {}).get(label, {}).values())


def segments_report(
    *,
    project: Project,
    since: datetime | None,
    until: datetime | None,
    versions: list[str] | None = None,
    known_versions: list[ModelVersion] | None = None,
    min_predictions: int = MIN_PREDICTIONS,
) -> tuple[SegmentTotals, list[Slice]]:
    """The period's totals and every slice, failing ones first, then the others by impact."""
    totals = segment_totals(
        project=project,
        since=since,
        until=until,
        versions=versions,
        known_versions=known_versions,
    )
    found = find_slices(
        totals.segments,
        total_predictions=totals.predictions,
        total_corrections=totals.corrections,
        min_predictions=min_predictions,
        fdr=FDR,
    )
    return totals, found
