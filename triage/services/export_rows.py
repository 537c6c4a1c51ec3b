"""The rows of a dataset export, built from one ordered stream of the selected predictions'
feedback: each prediction's items are grouped into one ExportRow (made in one place,
`RowBuilder._row`), its corrections resolved under the export's policy unless a reviewer
labelled it (a reviewer's label wins), checked, matched with the reference, split, and handed
to the format's writer in batches of BATCH. Then the predictions only reviewers labelled.
"""

from contextlib import closing
from typing import NamedTuple

from core.jobs import job_progress
from feedback.models import Feedback, ModelVersion

from ..exports import resolve as resolution
from ..exports.reference import contains, reference_key
from ..exports.split import near_duplicate_key, split_side
from ..models import DatasetExport
from ..selectors_export_reviews import Verdict, export_reviewer_verdicts, reviewed_predictions
from ..selectors_exports import (
    ExportFeedbackRow,
    export_category_ids,
    export_feedback_rows,
    stream_chunks,
)
from .export_checks import CheckedCorrection
from .export_manifest import Tally

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


class RowBuilder:
    """Groups the streamed feedback of each selected prediction into its export row (module
    docstring), applying reviewers' verdicts, the policy, the check, the reference and the
    split, and hands rows to the writer in batches."""

    def __init__(self, export: DatasetExport, writer, check=None, reference=None):
        self.export, self.writer = export, writer
        self.check = check  # an export_checks.CorrectionCheck, or None
        self.reference = reference  # sorted keys of the reference dataset's inputs, or None
        self.exclude_known = export.options.get("reference_handling") == "exclude"
        self.checking: list[_Waiting] = []
        self.exclude_flagged = export.options.get("flagged") == "exclude"
        self.policy = export.resolution
        self.labels = set(export.filters.get("labels") or [])
        # Reviewers' verdicts win over customers' corrections of the same prediction, whatever
        # sources the rows are taken from. Exports requested before reviewers existed have no
        # `sources` and stay customers' corrections alone (a rebuild writes the same rows).
        sources = export.filters.get("sources")
        self.take_customer = sources is None or "customer" in sources
        self.take_reviewer = sources is not None and "reviewer" in sources
        self.verdicts: dict[int, Verdict] = (
            export_reviewer_verdicts(export=export) if sources is not None else {}
        )
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
        plain = (
            self.check is None
            and self.reference is None
            and not self.split
            and not self.labels
            and self.take_customer
        )
        rows = export_feedback_rows(export=self.export, scores=self.check is not None)
        # Closed on the way out, whatever stops the loop: the stream's reader thread and
        # connection end with it.
        with closing(stream_chunks(rows)) as chunks:
            self._rows(chunks, plain)
        # What is left of the verdicts: predictions no selected feedback is about.
        self._reviewed_only()
        self._flush()

    def _rows(self, chunks, plain: bool) -> None:
        correction = Feedback.Kind.CORRECTION.value
        dismissed_state = Feedback.TriageState.NOT_AN_ERROR.value
        out, label_counts, row_of = self.rows, self.tally.labels, self._row
        verdicts = self.verdicts
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
                    if verdicts and current_id in verdicts:
                        verdict = verdicts.pop(current_id)
                        self._reviewed(current, feedback_ids, categories, labels, verdict)
                    elif n_corrections:
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
        if verdicts and current_id in verdicts:
            self._reviewed(current, feedback_ids, categories, labels, verdicts.pop(current_id))
        elif labels:
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
        source: str = "customer",
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
            source,
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
        if not self.take_customer:
            tally.source_filtered += 1
            return
        waiting = _Waiting(prediction, feedback_ids, categories, len(labels), label, agreement)
        if self.check is not None:
            self.checking.append(waiting)
            if len(self.checking) >= CHECK_BATCH:
                self._settle()
            return
        self._keep(waiting, False)

    def _reviewed(self, values: tuple, feedback_ids, categories, labels, verdict: Verdict) -> None:
        """A prediction a reviewer labelled: the reviewer's label is its row's, whatever the
        customers said under any policy (never checked: a person has looked at it)."""
        tally, prediction = self.tally, ExportFeedbackRow._make(values)
        tally.reviewed += 1
        label, predicted = verdict.label, prediction.predicted_label
        if labels:
            customers = resolution.resolve(labels, self.policy).label
            if customers != label:
                tally.reviewer_overrode += 1
        if label == predicted:  # the model was right: nothing to retrain on
            tally.reviewer_confirmed += 1
            return
        if self.labels and predicted not in self.labels and label not in self.labels:
            tally.label_filtered += 1
            return
        if not self.take_reviewer:
            tally.source_filtered += 1
            return
        # Share of the customers' kept corrections that agree (1 when none corrected it).
        agreement = float(round(labels.count(label) / len(labels), 4)) if labels else 1.0
        waiting = _Waiting(prediction, feedback_ids, categories, len(labels), label, agreement)
        self._keep(waiting, False, source="reviewer")

    def _reviewed_only(self) -> None:
        """Rows for the verdicts on predictions the feedback stream did not bring: those
        nobody reported (from the review queue), in the categories the filters ask for."""
        if not self.verdicts or not self.take_reviewer:
            return
        wanted = export_category_ids(project=self.export.project, filters=self.export.filters)
        ids = sorted(
            prediction_id
            for prediction_id, verdict in self.verdicts.items()
            if wanted is None or verdict.category_id in wanted
        )
        for values, feedback_ids in reviewed_predictions(export=self.export, prediction_ids=ids):
            verdict = self.verdicts[values[0]]
            categories = [verdict.category_id] if verdict.category_id is not None else []
            self._reviewed(values, feedback_ids, categories, [], verdict)
            if len(self.rows) >= BATCH:
                self._flush()

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

    def _keep(self, waiting: _Waiting, flagged: bool, source: str = "customer") -> None:
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
        if source == "reviewer":
            tally.reviewer_rows += 1
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
                source,
            )
        )

    def _flush(self) -> None:
        rows = self.rows
        if rows:
            self.writer.write(rows)
            self.tally.rows += len(rows)
            rows.clear()
        job_progress(self.export, items_done=self.tally.corrections)
