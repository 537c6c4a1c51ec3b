"""What an export says about itself: the counts gathered while its rows stream by, and the
manifest written next to the file (JSON, shown on the export's page and in the API)."""

from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata

from django.utils import timezone

from ..exports.rows import COLUMNS
from ..models import DatasetExport, ErrorCategory, ReferenceDataset

REVIEWER_PRECEDENCE = (
    "A reviewer's label wins over customers' corrections of the same prediction under every "
    "resolution policy; of several reviewers, the latest verdict counts; skips are not labels."
)


@dataclass
class Tally:
    """What the manifest counts while rows stream by."""

    predictions: int = 0
    corrections: int = 0
    dismissed: int = 0
    conflicts: int = 0
    agrees_with_prediction: int = 0
    label_filtered: int = 0
    flagged: int = 0
    in_reference: int = 0
    source_filtered: int = 0
    # Reviewers' verdicts applied, rows whose label is a reviewer's, verdicts that differ from
    # the customers' resolved label, and verdicts that the model was right.
    reviewed: int = 0
    reviewer_rows: int = 0
    reviewer_overrode: int = 0
    reviewer_confirmed: int = 0
    rows: int = 0
    labels: Counter = field(default_factory=Counter)
    splits: Counter = field(default_factory=Counter)
    category_ids: set[int] = field(default_factory=set)  # in the rows' category_ids


def app_version() -> str:
    try:
        return metadata.version("voc-triage")
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"


def _category_titles(export: DatasetExport, ids: set[int]) -> dict[str, str]:
    """The title of every category the rows or the filters name, by id (as JSON keys)."""
    ids = ids | set(export.filters.get("categories") or [])
    titles = ErrorCategory.objects.filter(project_id=export.project_id, id__in=ids)
    return {str(id_): title for id_, title in sorted(titles.values_list("id", "title"))}


def export_manifest(
    export: DatasetExport,
    tally: Tally,
    *,
    size: int,
    sha256: str,
    checked: int | None,
    reference: ReferenceDataset | None,
) -> dict:
    handling = export.options.get("flagged", "ignore")
    if export.created_by_id:
        created_by = {"user": export.created_by.get_username()}
    elif export.api_key_id:
        created_by = {"api_key": export.api_key.prefix}
    else:
        created_by = {}
    return {
        "project": export.project.slug,
        "export_id": export.id,
        "version": export.label,
        "format": export.format,
        "resolution": export.resolution,
        "filters": export.filters,
        "split": export.split or None,
        "as_of": export.as_of.isoformat(),
        "created_at": export.created_at.isoformat(),
        "created_by": created_by,
        "built_at": timezone.now().isoformat(),
        "app_version": app_version(),
        "columns": list(COLUMNS),
        "row_count": tally.rows,
        "label_distribution": dict(sorted(tally.labels.items())),
        "categories": _category_titles(export, tally.category_ids),
        "split_counts": dict(sorted(tally.splits.items())) if export.split else None,
        "counts": {
            "predictions_with_corrections": tally.predictions,
            "corrections": tally.corrections,
            "reviewer_labels": tally.reviewed,
        },
        "reviewers": {
            "rows": tally.reviewer_rows,
            "over_customers": tally.reviewer_overrode,
            "precedence": REVIEWER_PRECEDENCE,
        }
        if "sources" in export.filters
        else None,
        "excluded": {
            "conflicts": tally.conflicts,
            "dismissed_corrections": tally.dismissed,
            "agrees_with_prediction": tally.agrees_with_prediction,
            "label_filter": tally.label_filtered,
            "source_filter": tally.source_filtered,
            "reviewer_says_model_right": tally.reviewer_confirmed,
            "flagged": tally.flagged if handling == "exclude" else 0,
            "in_reference": tally.in_reference
            if export.options.get("reference_handling") == "exclude"
            else 0,
        },
        "flagged": {
            "handling": handling,
            "count": tally.flagged if handling != "ignore" else None,
            "checked": checked,
            "check": "confident joint on the model's scores + agreement of similar inputs"
            if handling != "ignore"
            else None,
        },
        "reference": {
            "id": reference.id,
            "name": reference.name,
            "sha256": reference.sha256,
            "inputs": reference.key_count,
            "handling": export.options.get("reference_handling"),
            "matched": tally.in_reference,
        }
        if reference
        else None,
        "file": {"name": export.file_name, "size_bytes": size, "sha256": sha256},
        # A rebuild of an earlier version without an erased customer's rows: which version,
        # and the erasure's id (never who the customer was).
        "rebuild": {"of": export.options["rebuild_of"], "erasure": export.options["erasure"]}
        if "erasure" in export.options
        else None,
    }
