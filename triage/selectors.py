"""Reads of the triage app."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q, QuerySet

from feedback.models import Feedback, Prediction, Project

from .clustering import Item
from .models import ClusteringRun, ErrorCategory, ImprovementPoint, ItemAssignment

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


def previous_assignments(
    *, feedback_ids: list[int], project: Project | None = None
) -> dict[int, tuple[int | None, bool]]:
    """feedback id -> (category id, pinned) for items already placed. With the items'
    project: one streamed join over its id range (10x faster than lists of ids for a run's
    100,000 items); without: in chunks of ids."""
    result = {}
    if project is not None and feedback_ids:
        wanted = set(feedback_ids)
        rows = (
            ItemAssignment.objects.filter(
                feedback__project=project,
                feedback_id__gte=min(feedback_ids),
                feedback_id__lte=max(feedback_ids),
            )
            .values_list("feedback_id", "category_id", "pinned")
            .iterator(chunk_size=CHUNK)
        )
        return {f: (c, pinned) for f, c, pinned in rows if f in wanted}
    for start in range(0, len(feedback_ids), CHUNK):
        for feedback_id, category_id, pinned in ItemAssignment.objects.filter(
            feedback_id__in=feedback_ids[start : start + CHUNK]
        ).values_list("feedback_id", "category_id", "pinned"):
            result[feedback_id] = (category_id, pinned)
    return result


def run_get(*, project: Project, run_id: int) -> ClusteringRun | None:
    return ClusteringRun.objects.filter(id=run_id, project=project).first()


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
        .order_by("-assignment__similarity", "id")
    )


def category_item_count(*, category: ErrorCategory) -> int:
    """How many items category_items() lists (every assignment has its feedback)."""
    return ItemAssignment.objects.filter(category=category).count()


# A category "grows" when it gained at least this share since the previous run...
GROWING_SHARE = 0.5
# ...and is at least this big (a category of 1 that became 2 is noise).
GROWING_MIN_SIZE = 5
AGENDA_LIMIT = 20


def _agenda_sections(*, project: Project, since: datetime) -> dict[str, QuerySet]:
    """Every category or point each section of the weekly review is about, in its order."""
    from django.utils import timezone

    from .services.verification import review_settings

    live = ErrorCategory.objects.filter(
        project=project, merged_into__isnull=True, is_unsorted=False
    ).select_related("assignee")
    closed = [ErrorCategory.State.FIXED, ErrorCategory.State.WONT_FIX]
    big = review_settings(project).big_category_size
    return {
        "new": live.filter(created_at__gte=since).order_by("-size"),
        "growing": live.filter(growth__gte=GROWING_SHARE, size__gte=GROWING_MIN_SIZE)
        .exclude(state__in=closed)
        .order_by("-growth", "-size"),
        "regressed": live.filter(state=ErrorCategory.State.REGRESSED).order_by("-size"),
        "unowned": live.filter(owner_team="", size__gte=big)
        .exclude(state__in=closed)
        .order_by("-size"),
        "overdue": ImprovementPoint.objects.filter(
            project=project, due_date__lt=timezone.localdate()
        )
        .exclude(state__in=[ImprovementPoint.State.DONE, ImprovementPoint.State.REJECTED])
        .select_related("assignee")
        .order_by("due_date"),
    }


# Sections listed whole: each of their entries needs a decision.
AGENDA_WHOLE = ("regressed", "overdue")


def review_agenda(*, project: Project, since: datetime) -> dict[str, list]:
    """What the weekly review should look at, from the data since `since`: the first
    AGENDA_LIMIT of the long sections (review_agenda_more says how many are left out)."""
    return {
        section: list(rows if section in AGENDA_WHOLE else rows[:AGENDA_LIMIT])
        for section, rows in _agenda_sections(project=project, since=since).items()
    }


def review_agenda_more(*, project: Project, since: datetime) -> dict[str, int]:
    """How many entries each section has beyond those review_agenda lists ("and N more")."""
    return {
        section: 0 if section in AGENDA_WHOLE else max(0, rows.count() - AGENDA_LIMIT)
        for section, rows in _agenda_sections(project=project, since=since).items()
    }


BOARD_COLUMNS = [
    ErrorCategory.State.NEW,
    ErrorCategory.State.TRIAGING,
    ErrorCategory.State.PLANNED,
    ErrorCategory.State.FIXED,
    ErrorCategory.State.WONT_FIX,
    ErrorCategory.State.REGRESSED,
]
BOARD_SORTS = {
    "impact": ("-impact", "-size", "id"),
    "size": ("-size", "id"),
    "growth": ("-growth_score", "-size", "id"),
    "recent": ("-created_at", "-id"),
    # Estimated only once reviewers have labelled some of its queue; the others after.
    "estimated": (F("estimated_unreported").desc(nulls_last=True), "-size", "id"),
}


def board_categories(
    *,
    project: Project,
    model_version_id: int | None = None,
    label: str = "",
    owner_team: str = "",
    min_size: int | None = None,
    show: str = "",
    sort: str = "impact",
):
    """Live categories for the board, filtered, in display order; one query, no per-card reads
    (trend, growth and impact are kept on the row)."""
    from django.db.models import ExpressionWrapper, FloatField

    categories = (
        ErrorCategory.objects.filter(project=project, merged_into__isnull=True, is_unsorted=False)
        .select_related("assignee", "fixed_in_version")
        .annotate(
            growth_score=ExpressionWrapper(F("size") * F("growth"), output_field=FloatField())
        )
    )
    if model_version_id:
        categories = categories.filter(
            version_stats__model_version_id=model_version_id, version_stats__items__gt=0
        )
    if label:
        categories = categories.filter(
            Q(labels__predicted__has_key=label) | Q(labels__corrected__has_key=label)
        )
    if owner_team:
        categories = categories.filter(owner_team="" if owner_team == "none" else owner_team)
    if min_size:
        categories = categories.filter(size__gte=min_size)
    if show == "new":
        categories = categories.filter(state=ErrorCategory.State.NEW)
    elif show == "growing":
        categories = categories.filter(growth__gte=GROWING_SHARE, size__gte=GROWING_MIN_SIZE)
    return categories.order_by(*BOARD_SORTS.get(sort, BOARD_SORTS["impact"]))


def project_members(*, project: Project):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(memberships__project=project).order_by("username")


def category_options(*, category: ErrorCategory) -> str:
    """<option>s of the other live categories of the project (targets of merge and move),
    built once per page: 500 categories through form widgets would cost a third of a second."""
    from django.utils.html import format_html_join

    others = (
        ErrorCategory.objects.filter(
            project_id=category.project_id, merged_into__isnull=True, is_unsorted=False
        )
        .exclude(id=category.id)
        .order_by("-size", "id")
        .values_list("id", "title", "size")
    )
    return format_html_join(
        "", '<option value="{}">#{} {} ({})</option>', ((i, i, t, n) for i, t, n in others)
    )


def clustering_status() -> dict:
    """For operators (/healthz): the representation a new run would use here, and the latest
    finished run across projects (no project names, no customer data)."""
    from django.conf import settings

    from .clustering.representations import embeddings_available
    from .services.vectors import embedding_model

    if settings.VOC_EMBEDDINGS == "off" or not embeddings_available(embedding_model()):
        default = "lsa"
    else:
        default = "embeddings"
    latest = (
        ClusteringRun.objects.filter(finished_at__isnull=False)
        .order_by("-finished_at")
        .values("id", "status", "representation", "n_items", "n_categories", "finished_at")
        .first()
    )
    return {
        "representation": default,
        "pending_runs": ClusteringRun.objects.filter(
            status__in=[ClusteringRun.Status.QUEUED, ClusteringRun.Status.RUNNING]
        ).count(),
        "latest_run": latest,
    }
