"""Reads of reviewers' verdicts for an export: the label a reviewer gave each prediction (a
reviewer's label wins over customers' corrections), and the predictions only reviewers
labelled, as the build reads them."""

from collections.abc import Iterator
from typing import NamedTuple

from feedback.models import Feedback, Prediction

from .models import DatasetExport, ReviewerLabel
from .selectors_exports import FETCH_CHUNK, feedback_alive_at


class Verdict(NamedTuple):
    label: str
    category_id: int | None  # the review queue or category it was given from


def export_reviewer_verdicts(*, export: DatasetExport) -> dict[int, Verdict]:
    """Each prediction's latest verdict with a label (a skip says nothing about the label),
    of any reviewer, given up to the export's as_of: by prediction id."""
    rows = (
        ReviewerLabel.objects.filter(project_id=export.project_id, created_at__lte=export.as_of)
        .exclude(label="")
        .order_by("prediction_id", "created_at", "id")
        .values_list("prediction_id", "label", "category_id")
    )
    return {
        prediction_id: Verdict(label, category_id)
        for prediction_id, label, category_id in rows.iterator(chunk_size=FETCH_CHUNK)
    }


def reviewed_predictions(
    *, export: DatasetExport, prediction_ids: list[int]
) -> Iterator[tuple[tuple, list[int]]]:
    """Those of these predictions the export's filters on predictions select (model versions,
    served window; erased ones never), each as a tuple in ExportFeedbackRow's order without a
    feedback item, with the ids of its feedback alive at as_of. In batches: bounded memory."""
    filters = export.filters
    for start in range(0, len(prediction_ids), FETCH_CHUNK):
        qs = Prediction.objects.filter(
            project_id=export.project_id, id__in=prediction_ids[start : start + FETCH_CHUNK]
        ).exclude(input_text="", input_data__isnull=True)
        if filters.get("model_versions"):
            qs = qs.filter(model_version__version__in=filters["model_versions"])
        if filters.get("since"):
            qs = qs.filter(served_at__gte=filters["since"])
        if filters.get("until"):
            qs = qs.filter(served_at__lt=filters["until"])
        rows = list(
            qs.order_by("id").values_list(
                "id", "request_id", "input_text", "predicted_label", "model_version_id", "served_at"
            )
        )
        feedback: dict[int, list[int]] = {}
        for prediction_id, feedback_id in (
            Feedback.objects.filter(
                feedback_alive_at(export.as_of), prediction_id__in=[r[0] for r in rows]
            )
            .order_by("prediction_id", "id")
            .values_list("prediction_id", "id")
        ):
            feedback.setdefault(prediction_id, []).append(feedback_id)
        for row in rows:
            yield (*row, None, "", "", "", None, None), feedback.get(row[0], [])
