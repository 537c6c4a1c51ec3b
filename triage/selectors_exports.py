"""Reads for dataset exports: the list of a project's exports and the streamed corrections."""

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet

from feedback.models import Feedback, ModelVersion, Prediction, Project

from .models import DatasetExport, ErrorCategory, ImprovementPoint, ItemAssignment

# Rows fetched per round trip from the database's server-side cursor.
FETCH_CHUNK = 5000


def exports_for_project(*, project: Project) -> QuerySet[DatasetExport]:
    return DatasetExport.objects.filter(project=project).select_related(
        "created_by", "api_key", "project"
    )


def export_get(*, project: Project, export_id: int) -> DatasetExport | None:
    """An export of the project, or None (another project's export is as good as missing)."""
    return exports_for_project(project=project).filter(id=export_id).first()


def _alive_at(as_of: datetime) -> Q:
    """Feedback that existed, and was not yet replaced by the customer, at `as_of`."""
    return Q(received_at__lte=as_of) & (Q(superseded_at__isnull=True) | Q(superseded_at__gt=as_of))


def export_category_ids(*, project: Project, filters: dict) -> list[int] | None:
    """The categories the filters select (their own and those of the improvement points),
    or None when the filters do not restrict by category."""
    categories = filters.get("categories") or []
    points = filters.get("improvement_points") or []
    if not categories and not points:
        return None
    ids = set(categories)
    if points:
        ids |= set(
            ImprovementPoint.categories.through.objects.filter(
                improvementpoint_id__in=points, improvementpoint__project=project
            ).values_list("errorcategory_id", flat=True)
        )
    return sorted(ids)


def _export_feedback(*, export: DatasetExport) -> QuerySet:
    """The correction feedback an export's filters select, alive at its as_of."""
    project, filters, as_of = export.project, export.filters, export.as_of
    qs = Feedback.objects.filter(_alive_at(as_of), project=project, kind="correction")
    if filters.get("model_versions"):
        qs = qs.filter(
            model_version__in=ModelVersion.objects.filter(
                project=project, version__in=filters["model_versions"]
            )
        )
    if filters.get("since"):
        qs = qs.filter(prediction__served_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(prediction__served_at__lt=filters["until"])
    category_ids = export_category_ids(project=project, filters=filters)
    if category_ids is not None:
        qs = qs.filter(
            prediction_id__in=ItemAssignment.objects.filter(
                category_id__in=category_ids, feedback__project=project
            ).values("feedback__prediction_id")
        )
    if filters.get("reviewed_only"):
        # Reviewed: some feedback about the prediction is in a category a person has moved
        # past "new", or was put in its category by a person.
        reviewed = ItemAssignment.objects.filter(
            Q(pinned=True, category__isnull=False)
            | (Q(category__isnull=False) & ~Q(category__state=ErrorCategory.State.NEW)),
            feedback__project=project,
        )
        qs = qs.filter(prediction_id__in=reviewed.values("feedback__prediction_id"))
    return qs


def export_corrections(*, export: DatasetExport) -> QuerySet:
    """The corrections an export reads, ordered by prediction (so one pass groups them), as
    tuples: prediction_id, feedback id, corrected_label, triage_state, request_id,
    input_text, predicted_label, model_version_id, served_at."""
    qs = _export_feedback(export=export)
    return qs.order_by("prediction_id", "created_at", "id").values_list(
        "prediction_id",
        "id",
        "corrected_label",
        "triage_state",
        "prediction__request_id",
        "prediction__input_text",
        "prediction__predicted_label",
        "model_version_id",
        "prediction__served_at",
    )


def export_corrections_stream(*, export: DatasetExport) -> Iterator[tuple]:
    return export_corrections(export=export).iterator(chunk_size=FETCH_CHUNK)


def feedback_of_predictions(
    *, project: Project, prediction_ids: list[int], as_of: datetime
) -> Iterator[tuple[int, int, int | None]]:
    """(prediction_id, feedback id, category id or None) of every feedback item about the
    predictions: an export's provenance columns."""
    return (
        Feedback.objects.filter(_alive_at(as_of), project=project, prediction_id__in=prediction_ids)
        .values_list("prediction_id", "id", "assignment__category_id")
        .order_by()
        .iterator(chunk_size=FETCH_CHUNK)
    )


def export_check_rows(*, export: DatasetExport) -> Iterator[tuple]:
    """What the likely-wrong-corrections check reads, ordered by prediction: prediction_id,
    corrected_label, triage_state, input_text, predicted_label, scores."""
    return (
        _export_feedback(export=export)
        .order_by("prediction_id", "created_at", "id")
        .values_list(
            "prediction_id",
            "corrected_label",
            "triage_state",
            "prediction__input_text",
            "prediction__predicted_label",
            "prediction__scores",
        )
        .iterator(chunk_size=FETCH_CHUNK)
    )


def confidence_by_label(*, project: Project, as_of: datetime) -> list[tuple[str, float, int]]:
    """(predicted_label, mean confidence, count) of the project's predictions served up to
    as_of: the per-class thresholds of the check."""
    return list(
        Prediction.objects.filter(project=project, served_at__lte=as_of, confidence__isnull=False)
        .values("predicted_label")
        .annotate(mean=Avg("confidence"), n=Count("id"))
        .values_list("predicted_label", "mean", "n")
        .order_by()
    )


def recent_uncorrected(*, project: Project, as_of: datetime, limit: int) -> list[tuple[str, str]]:
    """(input_text, predicted_label) of up to `limit` of the latest predictions served up to
    as_of that no customer corrected: the model's answers as weak neighbour votes."""
    corrected = Feedback.objects.filter(
        project=project, kind="correction", prediction_id=OuterRef("pk")
    )
    return list(
        Prediction.objects.filter(project=project, served_at__lte=as_of)
        .exclude(input_text="")
        .exclude(Exists(corrected))
        .order_by("-served_at", "-id")
        .values_list("input_text", "predicted_label")[:limit]
    )
