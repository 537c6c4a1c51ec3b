"""Likely-wrong corrections, flagged in the background: the check an export runs before its
corrections become training data (triage/exports/checks.py, prepared by export_checks), run
over all of a project's resolved corrections after each clustering run and stored as
CorrectionFlag rows, so the category page and the inbox show the flag without computing it.

The check is asked exactly as an export that covers every correction of the project (no
filter, latest correction wins, as of now) would ask it: same thresholds, same seeded
neighbour pool, same verdicts. Bounded memory: the pool (export_checks.prepare) plus one
batch of corrections; the corrections are streamed. Idempotent: each refresh upserts the
flags it finds and then deletes the project's flags it did not find again.
"""

import logging
from contextlib import closing
from dataclasses import dataclass

from django.utils import timezone

from feedback.models import Feedback, Project

from ..exports import resolve as resolution
from ..models import CorrectionFlag, DatasetExport
from ..selectors_exports import ExportFeedbackRow, export_feedback_rows, stream_chunks
from . import export_checks
from .export_checks import CheckedCorrection, label_score, scores_parse

logger = logging.getLogger(__name__)

REFRESH_TASK = "triage.correction_flags_refresh"
# Corrections handed to the check at once (as an export's build does: its similarity work
# is chunked on its own; this only sets how many wait for a verdict) and flags written at once.
CHECK_BATCH = 1_024
# The policy that resolves several customers' corrections of one prediction.
POLICY = DatasetExport.Resolution.LATEST


@dataclass
class FlagsResult:
    checked: int = 0
    flagged: int = 0
    removed: int = 0


def _scope(project: Project, as_of) -> DatasetExport:
    """An export of every resolved correction of the project (never saved): what the check's
    preparation and the export selectors read their rows through."""
    return DatasetExport(project=project, as_of=as_of, resolution=POLICY, filters={}, options={})


def correction_flags_refresh(*, project: Project) -> FlagsResult:
    """Check the project's resolved corrections and store the likely-wrong ones. Returns how
    many were checked, flagged, and how many earlier flags no longer hold. Idempotent."""
    started = timezone.now()
    result = FlagsResult()
    scope = _scope(project, started)
    if not Feedback.objects.filter(project=project, kind=Feedback.Kind.CORRECTION).exists():
        result.removed = CorrectionFlag.objects.filter(project=project).delete()[0]
        return result
    check = export_checks.prepare(export=scope)
    waiting: list[CheckedCorrection] = []

    def settle() -> None:
        verdicts = check.flags(waiting)
        flags = [
            _flag(project, check.thresholds, row, started)
            for row, flagged in zip(waiting, verdicts, strict=True)
            if flagged
        ]
        result.checked += len(waiting)
        result.flagged += len(flags)
        waiting.clear()
        if flags:
            CorrectionFlag.objects.bulk_create(
                flags,
                update_conflicts=True,
                unique_fields=["prediction"],
                update_fields=[
                    "corrected_label",
                    "p_predicted",
                    "p_corrected",
                    "t_predicted",
                    "t_corrected",
                    "checked_at",
                ],
            )

    for row in _resolved_corrections(scope):
        waiting.append(row)
        if len(waiting) >= CHECK_BATCH:
            settle()
    if waiting:
        settle()
    result.removed = CorrectionFlag.objects.filter(
        project=project, checked_at__lt=started
    ).delete()[0]
    logger.info(
        "correction flags of project %s: %s checked, %s flagged, %s removed",
        project.id, result.checked, result.flagged, result.removed,
    )  # fmt: skip
    return result


def _resolved_corrections(scope: DatasetExport):
    """The scope's predictions with a resolved correction other than the model's answer, as
    the check weighs them, streamed (one prediction's feedback at a time). Resolved as an
    export resolves them: corrections marked "not a model error" left out."""
    correction = Feedback.Kind.CORRECTION.value
    dismissed = Feedback.TriageState.NOT_AN_ERROR.value
    current: ExportFeedbackRow | None = None
    labels: list[str] = []

    def resolved():
        if current is None or not labels:
            return None
        label = resolution.resolve(labels, POLICY).label
        if label is None or label == current.predicted_label:
            return None
        return CheckedCorrection(
            prediction_id=current.prediction_id,
            input_text=current.input_text,
            predicted_label=current.predicted_label,
            resolved_label=label,
            scores=current.scores,
        )

    rows = export_feedback_rows(export=scope, scores=True)
    with closing(stream_chunks(rows, row=ExportFeedbackRow)) as chunks:
        for chunk in chunks:
            for row in chunk:
                if current is None or row.prediction_id != current.prediction_id:
                    if (done := resolved()) is not None:
                        yield done
                    current, labels = row, []
                if row.kind == correction and row.triage_state != dismissed:
                    labels.append(row.corrected_label)
    if (done := resolved()) is not None:
        yield done


def _flag(project: Project, thresholds: dict, row: CheckedCorrection, at) -> CorrectionFlag:
    scores = scores_parse(row.scores)
    return CorrectionFlag(
        project=project,
        prediction_id=row.prediction_id,
        corrected_label=row.resolved_label,
        p_predicted=label_score(scores, row.predicted_label),
        p_corrected=label_score(scores, row.resolved_label),
        # As checks.model_against reads them: a class never predicted holds nothing against.
        t_predicted=thresholds.get(row.predicted_label, 1.0),
        t_corrected=thresholds.get(row.resolved_label, 0.0),
        checked_at=at,
    )


def correction_flags_refresh_project(*, project_id: int) -> FlagsResult | None:
    """The task's entry: None when the project is gone."""
    project = Project.objects.filter(id=project_id).first()
    return correction_flags_refresh(project=project) if project is not None else None
