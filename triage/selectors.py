"""Reads of the triage app."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q

from feedback.models import Feedback, Prediction, Project

from .clustering import Item
from .models import ClusteringRun, ErrorCategory, ItemAssignment

# Feedback that can say something about a model error. Thumbs-up is not an error.
ERROR_FEEDBACK = Q(kind__in=["complaint", "correction"]) | Q(kind="rating", rating=-1)
ITEM_FIELDS = (
    "id",
    "kind",
    "text",
    "corrected_label",
    "created_at",
    "prediction_id",
    "prediction__input_text",
    "prediction__predicted_label",
    "prediction__scores",
)
CHUNK = 5000
REFERENCE_SAMPLE = 5000


@dataclass
class RawItem:
    """A feedback item as the clustering needs it, before its text is built."""

    id: int
    kind: str
    own_text: str
    input_text: str
    predicted_label: str
    corrected_label: str
    scores: dict | None
    created_at: datetime
    prediction_id: int | None

    def to_item(self, text: str, previous_category: int | None = None) -> Item:
        return Item(
            id=self.id,
            kind=self.kind,
            text=text,
            predicted_label=self.predicted_label,
            corrected_label=self.corrected_label,
            scores=self.scores,
            created_at=self.created_at,
            previous_category=previous_category,
        )


def _raw(row) -> RawItem:
    return RawItem(
        id=row[0],
        kind=row[1],
        own_text=row[2],
        corrected_label=row[3],
        created_at=row[4],
        prediction_id=row[5],
        input_text=row[6] or "",
        predicted_label=row[7] or "",
        scores=row[8],
    )


def _propagate_corrections(items: list[RawItem]) -> list[RawItem]:
    """A complaint or a thumbs-down about a prediction that a customer also corrected carries
    that correction: the reviewer would read it next to the complaint."""
    latest: dict[int, tuple] = {}
    for item in items:
        if item.kind == "correction" and item.prediction_id:
            known = latest.get(item.prediction_id)
            if known is None or item.created_at > known[0]:
                latest[item.prediction_id] = (item.created_at, item.corrected_label)
    for item in items:
        if not item.corrected_label and item.prediction_id in latest:
            item.corrected_label = latest[item.prediction_id][1]
    return items


def clustering_items(*, project: Project, since: datetime, until: datetime) -> list[RawItem]:
    """The project's error feedback in [since, until): what a run clusters. Excludes items a
    person marked "not a model error" and corrections a customer replaced."""
    rows = (
        Feedback.objects.filter(
            ERROR_FEEDBACK, project=project, created_at__gte=since, created_at__lt=until
        )
        .exclude(triage_state=Feedback.TriageState.NOT_AN_ERROR)
        .filter(superseded_at__isnull=True)
        .order_by("id")
        .values_list(*ITEM_FIELDS)
    )
    return _propagate_corrections([_raw(row) for row in rows.iterator(chunk_size=CHUNK)])


def raw_items_by_id(*, feedback_ids: list[int]) -> list[RawItem]:
    rows = (
        Feedback.objects.filter(ERROR_FEEDBACK, id__in=feedback_ids, superseded_at__isnull=True)
        .exclude(triage_state=Feedback.TriageState.NOT_AN_ERROR)
        .order_by("id")
        .values_list(*ITEM_FIELDS)
    )
    return _propagate_corrections([_raw(row) for row in rows])


def reference_inputs(*, project: Project, limit: int = REFERENCE_SAMPLE) -> list[str]:
    """Recent model inputs of the project: the language customers use when they are not
    complaining, against which complaint boilerplate stands out."""
    return [
        text
        for text in Prediction.objects.filter(project=project)
        .exclude(input_text="")
        .order_by("-served_at")
        .values_list("input_text", flat=True)[:limit]
    ]


def previous_assignments(*, feedback_ids: list[int]) -> dict[int, tuple[int | None, bool]]:
    """feedback id -> (category id, pinned) for items already placed, in chunks."""
    result = {}
    for start in range(0, len(feedback_ids), CHUNK):
        for feedback_id, category_id, pinned in ItemAssignment.objects.filter(
            feedback_id__in=feedback_ids[start : start + CHUNK]
        ).values_list("feedback_id", "category_id", "pinned"):
            result[feedback_id] = (category_id, pinned)
    return result


def active_run(*, project: Project) -> ClusteringRun | None:
    return ClusteringRun.objects.filter(project=project, status__in=ClusteringRun.ACTIVE).first()


def latest_succeeded_run(*, project_id: int) -> ClusteringRun | None:
    return (
        ClusteringRun.objects.filter(project_id=project_id, status=ClusteringRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )


def category_resolve(category_id: int, merged_into: dict[int, int | None]) -> int:
    """Follow merges to the category that holds the items now."""
    seen = set()
    while merged_into.get(category_id) and category_id not in seen:
        seen.add(category_id)
        category_id = merged_into[category_id]
    return category_id


def categories_for_project(*, project: Project):
    return ErrorCategory.objects.filter(project=project, merged_into__isnull=True)


def category_items(*, category: ErrorCategory):
    """The feedback in a category, most typical first, with its prediction (one query)."""
    return (
        Feedback.objects.filter(assignment__category=category)
        .select_related("prediction", "assignment")
        .order_by(F("assignment__similarity").desc(nulls_last=True), "id")
    )
