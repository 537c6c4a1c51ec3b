"""Building a dataset export in a Celery worker: claim, stream, write, manifest, sweep.

The request side (validation, numbering, the snapshot's `as_of`) is in `exports.py`; the
lifecycle (claim, heartbeat, give-up) is core.jobs. One ordered query streams the feedback of
the selected predictions; each prediction's items are grouped here into one ExportRow, built
in one place (`_Builder._row`), and handed to the format's writer in batches of BATCH.
"""

import gc
import logging
import uuid
from contextlib import closing
from typing import NamedTuple

from django.db import DatabaseError

from core import files
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
from feedback.models import Feedback, ModelVersion

from ..exports import resolve as resolution
from ..exports.reference import contains, reference_key
from ..exports.split import near_duplicate_key, split_side
from ..exports.writers import WRITERS
from ..models import DatasetExport, ReferenceDataset
from ..selectors_exports import (
    ExportFeedbackRow,
    export_corrections,
    export_feedback_rows,
    stream_chunks,
)
from . import export_checks
from .export_checks import CheckedCorrection
from .export_manifest import Tally, export_manifest
from .exports import reference_not_ready
from .references import reference_keys

logger = logging.getLogger(__name__)

REFERENCE_GONE = (
    "Reference dataset #{id} was deleted before this export was built: request the export "
    "again with another reference dataset, or without one."
)
# Predictions per batch handed to the writer (and per progress update).
BATCH = 20_000
# Corrections scored by the likely-wrong check at once (its similarity work is done in
# chunks of its own; this only sets how many rows wait for a verdict).
CHECK_BATCH = 1_024


class _Waiting(NamedTuple):
    """A prediction's resolved correction waiting for the likely-wrong check's verdict."""

    prediction: ExportFeedbackRow
    feedback_ids: list[int]
    categories: list[int]
    n_labels: int
    label: str
    agreement: float


class _Builder:
    def __init__(self, export: DatasetExport, writer, check=None, reference=None):
        self.export, self.writer = export, writer
        self.check = check  # an export_checks.CorrectionCheck, or None
        self.reference = reference  # sorted keys of the reference dataset's inputs, or None
        self.exclude_known = export.options.get("reference_handling") == "exclude"
        self.checking: list[_Waiting] = []
        self.exclude_flagged = export.options.get("flagged") == "exclude"
        self.policy = export.resolution
        self.labels = set(export.filters.get("labels") or [])
        self.split = export.split or {}
        self.versions = dict(
            ModelVersion.objects.filter(project=export.project).values_list("id", "version")
        )
        self.tally = Tally()
        self.rows: list[tuple] = []  # ExportRow values (see _row)

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
        out, label_counts, row_of = self.rows, self.tally.labels, self._row
        predictions = corrections = dismissed = 0
        current = None  # the ExportFeedbackRow (a plain tuple here) of the prediction at hand
        current_id, current_predicted = -1, None
        feedback_ids: list[int] = []
        categories: list[int] = []
        labels: list[str] = []
        n_corrections = 0
        for chunk in chunks:
            for item in chunk:
                # Unpacked by name: as fast as indexing, and faster than a NamedTuple per row.
                (prediction_id, _, _, predicted_label, _, _, feedback_id, kind,
                 corrected_label, triage_state, category_id, _) = item  # fmt: skip
                if prediction_id != current_id:
                    if n_corrections:
                        predictions += 1
                        corrections += n_corrections
                        dismissed += n_corrections - len(labels)
                        if plain and len(labels) == 1 and labels[0] != current_predicted:
                            label_counts[labels[0]] += 1
                            out.append(row_of(current, labels[0], feedback_ids, categories))
                        elif labels:
                            self._prediction(current, feedback_ids, categories, labels)
                    current, current_id, current_predicted = item, prediction_id, predicted_label
                    feedback_ids, categories, labels = [], [], []
                    n_corrections = 0
                feedback_ids.append(feedback_id)
                if category_id is not None:
                    categories.append(category_id)
                if kind == correction:
                    n_corrections += 1
                    if triage_state != dismissed_state:
                        labels.append(corrected_label)
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

    def _row(
        self,
        prediction: tuple,
        label: str,
        feedback_ids: list[int],
        categories: list[int],
        n_labels: int = 1,
        agreement: float = 1.0,
        split: str = "train",
        flagged: bool = False,
        known: bool = False,
    ) -> tuple:
        """The one place an export row is made (the fast path and the general one), from the
        prediction's ExportFeedbackRow: the values of an ExportRow, in its order."""
        (_, request_id, input_text, predicted_label, version_id, served_at,
         _, _, _, _, _, _) = prediction  # fmt: skip
        if categories:  # the manifest names them
            self.tally.category_ids.update(categories)
        # A plain tuple in ExportRow's order: the writers name its fields as they read it
        # (a NamedTuple per row costs 20 % of the build).
        return (
            request_id,
            input_text,
            predicted_label,
            label,
            self.versions.get(version_id, ""),
            served_at,
            len(feedback_ids),
            n_labels,
            agreement,
            feedback_ids if len(feedback_ids) == 1 else sorted(feedback_ids),
            categories if len(categories) < 2 else sorted(set(categories)),
            split,
            flagged,
            known,
        )

    def _count(self, predictions: int, corrections: int, dismissed: int) -> None:
        self.tally.predictions += predictions
        self.tally.corrections += corrections
        self.tally.dismissed += dismissed

    def _prediction(self, values: tuple, feedback_ids, categories, labels) -> None:
        """A prediction with at least one correction kept, in general: resolve, count,
        check, split, queue its row."""
        tally, prediction = self.tally, ExportFeedbackRow._make(values)
        if len(labels) == 1:
            label, agreement = labels[0], 1.0
        else:
            outcome = resolution.resolve(labels, self.policy)
            label, agreement = outcome.label, float(round(outcome.agreement, 4))
        predicted = prediction.predicted_label
        if label is None:
            tally.conflicts += 1
            return
        if label == predicted:
            tally.agrees_with_prediction += 1
            return
        if self.labels and predicted not in self.labels and label not in self.labels:
            tally.label_filtered += 1
            return
        waiting = _Waiting(prediction, feedback_ids, categories, len(labels), label, agreement)
        if self.check is not None:
            self.checking.append(waiting)
            if len(self.checking) >= CHECK_BATCH:
                self._settle()
            return
        self._keep(waiting, False)

    def _settle(self) -> None:
        """The check's verdicts on the rows waiting for them: flagged rows are counted, and
        left out or marked."""
        if not self.checking:
            return
        verdicts = self.check.flags(
            [
                CheckedCorrection(
                    prediction_id=waiting.prediction.prediction_id,
                    input_text=waiting.prediction.input_text,
                    predicted_label=waiting.prediction.predicted_label,
                    resolved_label=waiting.label,
                    scores=waiting.prediction.scores,
                )
                for waiting in self.checking
            ]
        )
        for waiting, flagged in zip(self.checking, verdicts, strict=True):
            if flagged:
                self.tally.flagged += 1
                if self.exclude_flagged:
                    continue
            self._keep(waiting, bool(flagged))
        self.checking.clear()

    def _keep(self, waiting: _Waiting, flagged: bool) -> None:
        tally, text = self.tally, waiting.prediction.input_text
        known = False
        if self.reference is not None:
            known = contains(self.reference, reference_key(text))
            if known:
                tally.in_reference += 1
                if self.exclude_known:
                    return
        side = "train"  # every row, without a split
        if self.split:
            side = split_side(
                key=near_duplicate_key(text),
                validation=self.split["validation"],
                seed=self.split["seed"],
            )
            tally.splits[side] += 1
        tally.labels[waiting.label] += 1
        self.rows.append(
            self._row(
                waiting.prediction,
                waiting.label,
                waiting.feedback_ids,
                waiting.categories,
                waiting.n_labels,
                waiting.agreement,
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
    # What an earlier attempt left when its worker was killed. No other build of this export
    # is alive: a message comes back only after its worker is lost or its time limit passed.
    _leftovers_remove(export)
    try:
        # The estimate behind the progress bar: the corrections the filters select.
        total = export_corrections(export=export).count()
        job_progress(export, items_total=total, items_done=0)
        check = None
        if export.options.get("flagged", "ignore") != "ignore":
            with JobHeartbeat(export):
                check = export_checks.prepare(export=export)
        reference = keys = None
        if export.options.get("reference") is not None:
            reference = ReferenceDataset.objects.filter(
                id=export.options["reference"], project=export.project
            ).first()
            if reference is None:
                job_fail(export, REFERENCE_GONE.format(id=export.options["reference"]))
                return claim
            if not reference.is_ready:  # requests refuse it; checked again, as for deletion
                job_fail(export, reference_not_ready(reference))
                return claim
            keys = reference_keys(reference)
        # Streaming beats with each batch (job_progress); only the check's preparation runs
        # long without progress, so only it needs the heartbeat thread.
        # Streamed to the storage (a multipart upload to a bucket), hashed on the way.
        with files.write_file(name) as raw:
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
        size, digest = raw.size, raw.sha256
        manifest = export_manifest(
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
        files.delete(name)
    except DatabaseError:
        files.delete(name)
        raise  # transient: the export stays RUNNING and the sweeper requeues it
    except Exception:
        logger.exception("export %s failed", export_id)
        files.delete(name)
        job_fail(export)
    return claim


def _leftovers_remove(export: DatasetExport) -> None:
    files.leftovers_remove(f"exports/{export.project_id}", f"{export.id}-")


def exports_sweep() -> SweepCounts:
    """Requeue exports whose worker died, fail those that used up their attempts (and remove
    their partial files), republish exports whose message was lost (core.jobs)."""

    def remove_parts(export_id: int) -> None:
        _leftovers_remove(DatasetExport.objects.get(id=export_id))

    return jobs_sweep(DatasetExport, on_give_up=remove_parts)
