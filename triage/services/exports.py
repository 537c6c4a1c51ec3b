"""Dataset exports of mislabeled samples: request, build (in a Celery worker), download.

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

import gc
import glob
import hashlib
import logging
import os
import uuid
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata

from django.core.exceptions import SuspiciousFileOperation
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.actors import user_or_none
from core.audit import audit
from core.jobs import (
    Claim,
    JobHeartbeat,
    JobLost,
    SweepCounts,
    job_claim,
    job_fail,
    job_finish,
    job_progress,
    jobs_sweep,
)
from core.publish import publish
from feedback.models import Feedback, ModelVersion, Project

from ..exports import resolve as resolution
from ..exports.reference import contains, reference_key
from ..exports.split import near_duplicate_key, split_side
from ..exports.writers import COLUMNS, WRITERS
from ..models import DatasetExport, ErrorCategory, ImprovementPoint, ReferenceDataset
from ..selectors_exports import export_corrections, export_feedback_rows, stream_chunks
from . import export_checks
from .references import reference_keys

logger = logging.getLogger(__name__)

# Predictions per batch handed to the writer (and per progress update).
BATCH = 20_000
# Corrections scored by the likely-wrong check at once (its similarity work is done in
# chunks of its own; this only sets how many rows wait for a verdict).
CHECK_BATCH = 1_024

UNKNOWN_CATEGORIES = "No category with id {ids} in this project."
UNKNOWN_POINTS = "No improvement point with id {ids} in this project."
UNKNOWN_VERSIONS = "No model version {names} in this project."
UNKNOWN_LABELS = "Not in the project's label set: {names}."
BAD_WINDOW = "since must be before until."
BAD_FORMAT = "Must be one of: csv, jsonl, parquet."
BAD_RESOLUTION = "Must be one of: latest, majority, unanimous."
BAD_VALIDATION_SHARE = "The validation share must be between 0 and 1 (exclusive)."
BAD_SEED = "The seed must be a whole number from 0."
BAD_FLAGGED = "Must be one of: ignore, mark, exclude."
BAD_REFERENCE_HANDLING = "Must be one of: mark, exclude."
UNKNOWN_REFERENCE = "No reference dataset with id {id} in this project."
# What to do with corrections the likely-wrong check flags (triage/exports/checks.py):
# ignore (no check, the `flagged` column is empty), mark (column true/false), exclude.
FLAGGED_HANDLING = ("ignore", "mark", "exclude")
# Rows whose input is in the chosen reference dataset: marked (a column) or left out.
REFERENCE_HANDLING = ("mark", "exclude")


class ExportInvalid(Exception):
    """The request cannot be built; `errors` is field -> [messages] (dotted for filters)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def app_version() -> str:
    try:
        return metadata.version("voc-triage")
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"


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
    if missing := _ids_missing(ErrorCategory, project, categories):
        errors["filters.categories"] = [UNKNOWN_CATEGORIES.format(ids=", ".join(map(str, missing)))]
    if missing := _ids_missing(ImprovementPoint, project, points):
        errors["filters.improvement_points"] = [
            UNKNOWN_POINTS.format(ids=", ".join(map(str, missing)))
        ]
    known = set(
        ModelVersion.objects.filter(project=project, version__in=versions).values_list(
            "version", flat=True
        )
    )
    if missing := [v for v in versions if v not in known]:
        errors["filters.model_versions"] = [UNKNOWN_VERSIONS.format(names=", ".join(missing))]
    if project.has_label_set and (missing := [v for v in labels if v not in project.labels]):
        errors["filters.labels"] = [UNKNOWN_LABELS.format(names=", ".join(missing[:20]))]
    since, until = filters.get("since"), filters.get("until")
    if since and until and since >= until:
        errors["filters.since"] = [BAD_WINDOW]
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
    }


def _split_clean(split: dict | None) -> dict:
    if not split:
        return {}
    errors = {}
    share, seed = split.get("validation"), split.get("seed", 0)
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share < 1:
        errors["split.validation"] = [BAD_VALIDATION_SHARE]
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        errors["split.seed"] = [BAD_SEED]
    if errors:
        raise ExportInvalid(errors)
    return {"validation": float(share), "seed": seed}


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
        errors["format"] = [BAD_FORMAT]
    if resolution_policy not in resolution.POLICIES:
        errors["resolution"] = [BAD_RESOLUTION]
    if flagged not in FLAGGED_HANDLING:
        errors["flagged"] = [BAD_FLAGGED]
    if reference_handling not in REFERENCE_HANDLING:
        errors["reference_handling"] = [BAD_REFERENCE_HANDLING]
    if reference is not None and not (
        isinstance(reference, int)
        and ReferenceDataset.objects.filter(project=project, id=reference).exists()
    ):
        errors["reference"] = [UNKNOWN_REFERENCE.format(id=reference)]
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


def export_file_path(export: DatasetExport) -> str | None:
    """The built file on disk, or None when the export has none (not built, or removed)."""
    if export.status != DatasetExport.Status.SUCCEEDED or not export.file:
        return None
    storage = export.file.storage
    try:
        path = os.path.realpath(storage.path(export.file.name))
    except SuspiciousFileOperation:
        return None
    # Only files of this project's export folder, whatever the row says (and through links).
    folder = os.path.realpath(storage.path(f"exports/{export.project_id}"))
    inside = os.path.commonpath([folder, path]) == folder
    return path if inside and os.path.isfile(path) else None


# --- build -----------------------------------------------------------------------------------


@dataclass
class _Tally:
    """What the manifest counts while rows stream by."""

    predictions: int = 0
    corrections: int = 0
    dismissed: int = 0
    conflicts: int = 0
    agrees_with_prediction: int = 0
    label_filtered: int = 0
    flagged: int = 0
    in_reference: int = 0
    rows: int = 0
    labels: Counter = field(default_factory=Counter)
    splits: Counter = field(default_factory=Counter)


class _Builder:
    def __init__(self, export: DatasetExport, writer, check=None, reference=None):
        self.export, self.writer = export, writer
        self.check = check  # an export_checks.CorrectionCheck, or None
        self.reference = reference  # sorted keys of the reference dataset's inputs, or None
        self.exclude_known = export.options.get("reference_handling") == "exclude"
        self.checking: list[tuple] = []  # rows waiting for the check's verdict
        self.exclude_flagged = export.options.get("flagged") == "exclude"
        self.policy = export.resolution
        self.labels = set(export.filters.get("labels") or [])
        self.split = export.split or {}
        self.versions = dict(
            ModelVersion.objects.filter(project=export.project).values_list("id", "version")
        )
        self.tally = _Tally()
        self.rows: list[tuple] = []

    def run(self) -> None:
        """One pass over the feedback of the selected predictions, ordered by prediction:
        each prediction's items are grouped here (its corrections resolve the label, all of
        them make the provenance). This loop sees every row: its usual path (one correction,
        no check, no split, no label filter) is kept inline, with counters in locals."""
        plain = self.check is None and self.reference is None and not self.split and not self.labels
        rows = export_feedback_rows(export=self.export, scores=self.check is not None)
        # Closed on the way out, whatever stops the loop: the stream's reader thread and
        # connection end with it.
        with closing(stream_chunks(rows)) as chunks:
            self._rows(chunks, plain)

    def _rows(self, chunks, plain: bool) -> None:
        correction = Feedback.Kind.CORRECTION.value
        dismissed_state = Feedback.TriageState.NOT_AN_ERROR.value
        versions, out, label_counts = self.versions, self.rows, self.tally.labels
        predictions = corrections = dismissed = 0
        current = None
        current_id = -1
        feedback_ids: list[int] = []
        categories: list[int] = []
        labels: list[str] = []
        n_corrections = 0
        for chunk in chunks:
            for row in chunk:
                if row[0] != current_id:
                    if n_corrections:
                        predictions += 1
                        corrections += n_corrections
                        dismissed += n_corrections - len(labels)
                        if plain and len(labels) == 1 and labels[0] != current[3]:
                            label = labels[0]
                            label_counts[label] += 1
                            out.append(
                                (
                                    current[1],
                                    current[2],
                                    current[3],
                                    label,
                                    versions.get(current[4], ""),
                                    current[5],
                                    len(feedback_ids),
                                    1,
                                    1.0,
                                    feedback_ids
                                    if len(feedback_ids) == 1
                                    else sorted(feedback_ids),
                                    categories if len(categories) < 2 else sorted(set(categories)),
                                    None,
                                    None,
                                    None,
                                )
                            )
                        elif labels:
                            self._prediction(current, feedback_ids, categories, labels)
                    current, current_id = row, row[0]
                    feedback_ids, categories, labels = [], [], []
                    n_corrections = 0
                feedback_ids.append(row[6])
                if row[10] is not None:
                    categories.append(row[10])
                if row[7] == correction:
                    n_corrections += 1
                    if row[9] != dismissed_state:
                        labels.append(row[8])
            if len(out) >= BATCH:
                self._count(predictions, corrections, dismissed)
                predictions = corrections = dismissed = 0
                self._flush()
        if n_corrections:
            predictions += 1
            corrections += n_corrections
            dismissed += n_corrections - len(labels)
            if labels:
                self._prediction(current, feedback_ids, categories, labels)
        self._settle()
        self._count(predictions, corrections, dismissed)
        self._flush()

    def _count(self, predictions: int, corrections: int, dismissed: int) -> None:
        self.tally.predictions += predictions
        self.tally.corrections += corrections
        self.tally.dismissed += dismissed

    def _prediction(self, prediction, feedback_ids, categories, labels) -> None:
        """A prediction with at least one correction kept, in general: resolve, count,
        check, split, queue its row."""
        tally = self.tally
        if len(labels) == 1:
            label, agreement = labels[0], 1.0
        else:
            outcome = resolution.resolve(labels, self.policy)
            label, agreement = outcome.label, round(outcome.agreement, 4)
        predicted = prediction[3]
        if label is None:
            tally.conflicts += 1
            return
        if label == predicted:
            tally.agrees_with_prediction += 1
            return
        if self.labels and predicted not in self.labels and label not in self.labels:
            tally.label_filtered += 1
            return
        if self.check is not None:
            self.checking.append(
                (prediction, feedback_ids, categories, len(labels), label, agreement)
            )
            if len(self.checking) >= CHECK_BATCH:
                self._settle()
            return
        self._keep(prediction, feedback_ids, categories, len(labels), label, agreement, None)

    def _settle(self) -> None:
        """The check's verdicts on the rows waiting for them: flagged rows are counted, and
        left out or marked."""
        if not self.checking:
            return
        verdicts = self.check.flags(
            [(row[0][0], row[0][2], row[0][3], row[4], row[0][11]) for row in self.checking]
        )
        for row, flagged in zip(self.checking, verdicts, strict=True):
            if flagged:
                self.tally.flagged += 1
                if self.exclude_flagged:
                    continue
            self._keep(*row, flagged)
        self.checking.clear()

    def _keep(self, prediction, feedback_ids, categories, n_labels, label, agreement, flagged):
        tally, predicted = self.tally, prediction[3]
        known = None
        if self.reference is not None:
            known = contains(self.reference, reference_key(prediction[2]))
            if known:
                tally.in_reference += 1
                if self.exclude_known:
                    return
        side = None
        if self.split:
            side = split_side(
                key=near_duplicate_key(prediction[2]),
                validation=self.split["validation"],
                seed=self.split["seed"],
            )
            tally.splits[side] += 1
        tally.labels[label] += 1
        self.rows.append(
            (
                prediction[1],
                prediction[2],
                predicted,
                label,
                self.versions.get(prediction[4], ""),
                prediction[5],
                len(feedback_ids),
                n_labels,
                agreement,
                sorted(feedback_ids),
                sorted(set(categories)),
                side,
                flagged,
                known,
            )
        )

    def _flush(self) -> None:
        rows = self.rows
        if rows:
            self.writer.write(rows)
            self.tally.rows += len(rows)
            rows.clear()
        job_progress(self.export, items_done=self.tally.corrections)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest(
    export: DatasetExport,
    tally: _Tally,
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
        "split_counts": dict(sorted(tally.splits.items())) if export.split else None,
        "counts": {
            "predictions_with_corrections": tally.predictions,
            "corrections": tally.corrections,
        },
        "excluded": {
            "conflicts": tally.conflicts,
            "dismissed_corrections": tally.dismissed,
            "agrees_with_prediction": tally.agrees_with_prediction,
            "label_filter": tally.label_filtered,
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
    }


def export_build(*, export_id: int, task_id: str = "") -> Claim:
    """Claim a QUEUED export and build its file (core.jobs). Leaves it SUCCEEDED or FAILED;
    RUNNING (for the sweeper) only when the database fails mid-way. A second delivery of the
    same export finds nothing to claim and returns without work."""
    task_id = task_id or uuid.uuid4().hex
    claim = job_claim(DatasetExport, export_id, task_id)
    if claim is not Claim.TAKEN:
        return claim
    export = DatasetExport.objects.select_related("project", "created_by", "api_key").get(
        id=export_id
    )
    name = f"exports/{export.project_id}/{export.id}-{uuid.uuid4().hex}.{export.format}"
    storage = DatasetExport.file.field.storage
    path = storage.path(name)
    partial_path = path + ".part"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # What an earlier attempt left when its worker was killed. No other build of this export
    # is alive: a message comes back only after its worker is lost or its time limit passed.
    _remove(*_parts_of(export))
    try:
        # The estimate behind the progress bar: the corrections the filters select.
        total = export_corrections(export=export).count()
        job_progress(export, items_total=total, items_done=0)
        check = None
        if export.options.get("flagged", "ignore") != "ignore":
            check = export_checks.prepare(export=export)
        reference = keys = None
        if export.options.get("reference") is not None:
            reference = ReferenceDataset.objects.get(
                id=export.options["reference"], project=export.project
            )
            keys = reference_keys(reference)
        with open(partial_path, "wb") as raw, JobHeartbeat(export):
            writer = WRITERS[export.format](raw)
            builder = _Builder(export, writer, check, keys)
            # The build makes millions of short-lived acyclic objects (rows, lists); the
            # cyclic collector would walk them again and again for nothing (~20 % of the time).
            collecting = gc.isenabled()
            gc.disable()
            try:
                builder.run()
            finally:
                if collecting:
                    gc.enable()
            writer.close()
        size, digest = os.path.getsize(partial_path), _sha256(partial_path)
        os.chmod(partial_path, 0o444)
        os.replace(partial_path, path)
        manifest = _manifest(
            export,
            builder.tally,
            size=size,
            sha256=digest,
            checked=check.checked if check else None,
            reference=reference,
        )
        job_finish(
            export,
            DatasetExport.Status.SUCCEEDED,
            items_done=builder.tally.corrections,
            row_count=builder.tally.rows,
            file=name,
            size_bytes=size,
            sha256=digest,
            manifest=manifest,
        )
    except JobLost:
        logger.info("export %s was taken over; this build stops", export_id)
        _remove(partial_path, path)
    except DatabaseError:
        _remove(partial_path, path)
        raise  # transient: the export stays RUNNING and the sweeper requeues it
    except Exception:
        logger.exception("export %s failed", export_id)
        _remove(partial_path, path)
        job_fail(export)
    return claim


def _parts_of(export: DatasetExport) -> list[str]:
    folder = DatasetExport.file.field.storage.path(f"exports/{export.project_id}")
    return glob.glob(os.path.join(folder, f"{export.id}-*.part"))


def _remove(*paths: str) -> None:
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def exports_sweep() -> SweepCounts:
    """Requeue exports whose worker died, fail those that used up their attempts (and remove
    their partial files), republish exports whose message was lost (core.jobs)."""

    def remove_parts(export_id: int) -> None:
        _remove(*_parts_of(DatasetExport.objects.get(id=export_id)))

    return jobs_sweep(DatasetExport, on_give_up=remove_parts)
