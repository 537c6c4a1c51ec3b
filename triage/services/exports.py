"""Dataset exports of mislabeled samples: request and download (the build: export_build.py).

Guarantees:
- Numbered per project (v1, v2, ...) under a lock on the project row; the unique constraint
  (project, number) backs it.
- A snapshot: the rows are the feedback received up to the export's `as_of` (its request
  time), so a build redone after a lost worker writes the same rows.
- Immutable once built: only QUEUED/RUNNING rows are ever updated, the file is written
  under a fresh name, moved into place whole, and made read-only; its sha256 is in the
  manifest.
- Bounded memory: the feedback of the selected predictions streams from a server-side cursor
  (one ordered query; provenance is grouped from the same rows) and goes to the file in
  batches of BATCH predictions.
- Audited: every request and every download is an AuditEvent.
"""

import logging
import posixpath
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from core import files
from core.actors import user_or_none
from core.audit import audit
from core.publish import publish
from feedback.models import ModelVersion, Project

from ..exports import resolve as resolution
from ..models import DatasetExport, ErrorCategory, ImprovementPoint, ReferenceDataset

logger = logging.getLogger(__name__)

UNKNOWN_CATEGORIES = _("No category with id {ids} in this project.")
UNKNOWN_POINTS = _("No improvement point with id {ids} in this project.")
UNKNOWN_VERSIONS = _("No model version {names} in this project.")
UNKNOWN_LABELS = _("Not in the project's label set: {names}.")
BAD_WINDOW = _("since must be before until.")
BAD_SOURCES = _("Each must be one of: customer, reviewer.")
BAD_FORMAT = _("Must be one of: csv, jsonl, parquet.")
BAD_RESOLUTION = _("Must be one of: latest, majority, unanimous.")
BAD_VALIDATION_SHARE = _("The validation share must be between 0 and 1 (exclusive).")
BAD_SEED = _("The seed must be a whole number from 0.")
BAD_FLAGGED = _("Must be one of: ignore, mark, exclude.")
BAD_REFERENCE_HANDLING = _("Must be one of: mark, exclude.")
UNKNOWN_REFERENCE = _("No reference dataset with id {id} in this project.")
REFERENCE_NOT_READY = _(
    "Reference dataset #{id} ({name}) is {status}, not ready: an export can use it once it "
    "has been read."
)
REFERENCE_FAILED = _(
    "Reference dataset #{id} ({name}) could not be read: upload it again, or choose another."
)
# What to do with corrections the likely-wrong check flags (triage/exports/checks.py):
# ignore (no check, the `flagged` column is empty), mark (column true/false), exclude.
FLAGGED_HANDLING = ("ignore", "mark", "exclude")
# Whose labels an export takes: customers' corrections, reviewers' verdicts (a reviewer's
# label wins over customers' corrections of the same prediction whichever are taken).
SOURCES = ("customer", "reviewer")
# Rows whose input is in the chosen reference dataset: marked (a column) or left out.
REFERENCE_HANDLING = ("mark", "exclude")


class ExportInvalid(Exception):
    """The request cannot be built; `errors` is field -> [messages] (dotted for filters)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


# --- request ---------------------------------------------------------------------------------


def _ids_missing(model, project: Project, ids: list) -> list:
    found = set(model.objects.filter(project=project, id__in=ids).values_list("id", flat=True))
    return sorted(set(ids) - found)


def _filters_clean(*, project: Project, filters: dict) -> dict:
    """Check the filters against the project; returns them normalised (JSON-ready)."""
    errors: dict[str, list[str]] = {}
    categories = sorted({int(i) for i in filters.get("categories") or []})
    points = sorted({int(i) for i in filters.get("improvement_points") or []})
    versions = sorted({str(v) for v in filters.get("model_versions") or []})
    labels = sorted({str(v) for v in filters.get("labels") or []})
    sources = sorted({str(v) for v in filters.get("sources") or SOURCES})
    if any(source not in SOURCES for source in sources):
        errors["filters.sources"] = [gettext(BAD_SOURCES)]
    if missing := _ids_missing(ErrorCategory, project, categories):
        errors["filters.categories"] = [
            gettext(UNKNOWN_CATEGORIES).format(ids=", ".join(map(str, missing)))
        ]
    if missing := _ids_missing(ImprovementPoint, project, points):
        errors["filters.improvement_points"] = [
            gettext(UNKNOWN_POINTS).format(ids=", ".join(map(str, missing)))
        ]
    known = set(
        ModelVersion.objects.filter(project=project, version__in=versions).values_list(
            "version", flat=True
        )
    )
    if missing := [v for v in versions if v not in known]:
        errors["filters.model_versions"] = [
            gettext(UNKNOWN_VERSIONS).format(names=", ".join(missing))
        ]
    if project.has_label_set and (missing := [v for v in labels if v not in project.labels]):
        errors["filters.labels"] = [gettext(UNKNOWN_LABELS).format(names=", ".join(missing[:20]))]
    since, until = filters.get("since"), filters.get("until")
    if since and until and since >= until:
        errors["filters.since"] = [gettext(BAD_WINDOW)]
    if errors:
        raise ExportInvalid(errors)
    return {
        "categories": categories,
        "improvement_points": points,
        "model_versions": versions,
        "labels": labels,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "reviewed_only": bool(filters.get("reviewed_only")),
        "sources": sources,
    }


def _split_clean(split: dict | None) -> dict:
    if not split:
        return {}
    errors = {}
    share, seed = split.get("validation"), split.get("seed", 0)
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share < 1:
        errors["split.validation"] = [gettext(BAD_VALIDATION_SHARE)]
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        errors["split.seed"] = [gettext(BAD_SEED)]
    if errors:
        raise ExportInvalid(errors)
    return {"validation": float(share), "seed": seed}


def reference_not_ready(dataset: ReferenceDataset) -> str:
    """Why an export cannot use this reference dataset yet (or ever), naming it."""
    name = dataset.name[:100]
    if dataset.status == ReferenceDataset.Status.FAILED:
        return gettext(REFERENCE_FAILED).format(id=dataset.id, name=name)
    return gettext(REFERENCE_NOT_READY).format(id=dataset.id, name=name, status=dataset.status)


def _reference_problem(project: Project, reference) -> str:
    dataset = (
        ReferenceDataset.objects.filter(project=project, id=reference).first()
        if isinstance(reference, int) and not isinstance(reference, bool)
        else None
    )
    if dataset is None:
        return gettext(UNKNOWN_REFERENCE).format(id=reference)
    return "" if dataset.is_ready else reference_not_ready(dataset)


def export_request(
    *,
    project: Project,
    format: str,
    filters: dict | None = None,
    resolution_policy: str = resolution.LATEST,
    split: dict | None = None,
    flagged: str = "ignore",
    reference: int | None = None,
    reference_handling: str = "mark",
    actor=None,
    api_key=None,
) -> DatasetExport:
    """Number and queue a new export (built after commit by a worker). Raises ExportInvalid
    naming the field at fault. Audited as `export_requested`."""
    errors = {}
    if format not in DatasetExport.Format.values:
        errors["format"] = [gettext(BAD_FORMAT)]
    if resolution_policy not in resolution.POLICIES:
        errors["resolution"] = [gettext(BAD_RESOLUTION)]
    if flagged not in FLAGGED_HANDLING:
        errors["flagged"] = [gettext(BAD_FLAGGED)]
    if reference_handling not in REFERENCE_HANDLING:
        errors["reference_handling"] = [gettext(BAD_REFERENCE_HANDLING)]
    if reference is not None:
        problem = _reference_problem(project, reference)
        if problem:
            errors["reference"] = [problem]
    if errors:
        raise ExportInvalid(errors)
    clean_filters = _filters_clean(project=project, filters=filters or {})
    clean_split = _split_clean(split)
    user = user_or_none(actor)
    with transaction.atomic():
        # The lock serialises numbering within the project (SQLite's writes are serial anyway).
        Project.objects.select_for_update().filter(id=project.id).first()
        last = DatasetExport.objects.filter(project=project).order_by("-number").first()
        now = timezone.now()
        export = DatasetExport.objects.create(
            project=project,
            number=(last.number if last else 0) + 1,
            format=format,
            resolution=resolution_policy,
            filters=clean_filters,
            split=clean_split,
            options={"flagged": flagged}
            | (
                {"reference": reference, "reference_handling": reference_handling}
                if reference is not None
                else {}
            ),
            created_by=user,
            api_key=api_key,
            created_at=now,
            as_of=now,
            queued_at=now,
        )
        audit(
            project=project,
            actor=user,
            action="export_requested",
            target=export,
            version=export.label,
            format=format,
            resolution=resolution_policy,
            filters=clean_filters,
            split=clean_split,
            flagged=flagged,
            **(
                {"reference": reference, "reference_handling": reference_handling}
                if reference is not None
                else {}
            ),
            **({"api_key": api_key.prefix} if api_key else {}),
        )
        transaction.on_commit(partial(publish, DatasetExport.TASK_NAME, export.id))
    return export


def export_downloaded(*, export: DatasetExport, actor=None, api_key=None) -> None:
    """Record a download in the audit log."""
    audit(
        project=export.project,
        actor=actor,
        action="export_downloaded",
        target=export,
        version=export.label,
        sha256=export.sha256,
        **({"api_key": api_key.prefix} if api_key else {}),
    )


def export_file_name(export: DatasetExport) -> str | None:
    """The built file's storage name, or None when the export has none (not built, or
    removed). Only a name inside this project's export folder, whatever the row says."""
    if export.status != DatasetExport.Status.SUCCEEDED or not export.file:
        return None
    name = export.file.name
    if posixpath.normpath(name) != name or not name.startswith(f"exports/{export.project_id}/"):
        return None
    return name if files.exists(name) else None


# --- build -----------------------------------------------------------------------------------
