"""Reads of the team inbox: feedback as it arrives, filtered, newest first.

Pagination is by keyset on (created_at, id), so page 2,000 costs what page 1 costs; the total
is counted only up to COUNT_CAP ("1,000+"), because an exact COUNT(*) over a year of feedback
is what makes list pages slow. Each page is one query for the rows (with prediction, model
version and error category joined) plus the capped count: no query per row.

This module reads `triage.models.ItemAssignment` only through `feedback -> assignment ->
category (id, title)`.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from feedback.models import Feedback, FeedbackRepeat, Prediction, Project

PAGE_SIZE = 50
COUNT_CAP = 1000
# Columns a list row shows; the rest (long inputs, score vectors) stays in the database.
LIST_FIELDS = (
    "id",
    "kind",
    "text",
    "corrected_label",
    "rating",
    "source",
    "created_at",
    "triage_state",
    "repeat_count",
    "superseded_at",
    "prediction_id",
    "predicted_label",
    "model_version__version",
)


@dataclass(frozen=True)
class InboxFilters:
    kind: str = ""
    model_version_id: int | None = None
    predicted_label: str = ""
    corrected_label: str = ""
    source: str = ""
    since: date | None = None
    until: date | None = None
    triage_state: str = ""
    q: str = ""
    include_superseded: bool = False


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str | None) -> "Cursor | None":
        """The cursor, or None for anything that is not one (the first page is shown)."""
        if not value or len(value) > 100:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            stamp, _, feedback_id = raw.partition("|")
            created_at = datetime.fromisoformat(stamp)
            if created_at.tzinfo is None:
                return None
            return cls(created_at, int(feedback_id))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            return None


@dataclass
class InboxPage:
    items: list[Feedback]
    older: Cursor | None  # cursor of the next page (older items), if any
    newer: Cursor | None  # cursor of the previous page (newer items), if any
    count: int
    count_capped: bool


def model_version_choices(*, project: Project) -> list[tuple[int, str]]:
    """(id, version) of the project's model versions, newest first: the version filter."""
    return list(project.model_versions.order_by("-released_at").values_list("id", "version"))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def inbox_queryset(*, project: Project, filters: InboxFilters) -> QuerySet[Feedback]:
    qs = Feedback.objects.filter(project=project)
    if not filters.include_superseded:
        qs = qs.filter(superseded_at__isnull=True)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.triage_state:
        qs = qs.filter(triage_state=filters.triage_state)
    if filters.corrected_label:
        qs = qs.filter(corrected_label=filters.corrected_label)
    # Feedback carries copies of its prediction's label and version: no join with predictions.
    if filters.model_version_id is not None:
        qs = qs.filter(model_version_id=filters.model_version_id)
    if filters.predicted_label:
        qs = qs.filter(predicted_label=filters.predicted_label)
    if filters.since:
        qs = qs.filter(created_at__gte=_day_start(filters.since))
    if filters.until:
        qs = qs.filter(created_at__lt=_day_start(filters.until + timedelta(days=1)))
    if filters.q:
        # UPPER(text) LIKE: served by the trigram index on PostgreSQL (migration 0004).
        qs = qs.filter(text__icontains=filters.q)
    return qs


def inbox_page(
    *,
    project: Project,
    filters: InboxFilters,
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> InboxPage:
    """One page of the inbox, newest first, starting after a cursor (either direction)."""
    base = inbox_queryset(project=project, filters=filters)
    rows = base.select_related("model_version").only(*LIST_FIELDS)
    rows = rows.annotate(
        category_id=F("assignment__category_id"), category_title=F("assignment__category__title")
    )
    if newer_than is not None:
        # Walk up from the cursor, then show the page in the usual order.
        c = newer_than
        rows = rows.filter(created_at__gte=c.created_at).exclude(
            created_at=c.created_at, id__lte=c.id
        )
        items = list(rows.order_by("created_at", "id")[: size + 1])
        has_more_newer = len(items) > size
        items = items[:size][::-1]
        has_more_older = True
    else:
        if older_than is not None:
            c = older_than
            rows = rows.filter(created_at__lte=c.created_at).exclude(
                created_at=c.created_at, id__gte=c.id
            )
        items = list(rows.order_by("-created_at", "-id")[: size + 1])
        has_more_older = len(items) > size
        items = items[:size]
        has_more_newer = older_than is not None
    count = base[: COUNT_CAP + 1].count()
    return InboxPage(
        items=items,
        older=Cursor(items[-1].created_at, items[-1].id) if items and has_more_older else None,
        newer=Cursor(items[0].created_at, items[0].id) if items and has_more_newer else None,
        count=min(count, COUNT_CAP),
        count_capped=count > COUNT_CAP,
    )


@dataclass
class FeedbackDetail:
    feedback: Feedback
    prediction: Prediction | None
    # Every piece of feedback on the prediction (or just this one), oldest first, each with
    # category_id/category_title annotated and its repeats prefetched.
    thread: list[Feedback]


def feedback_detail_get(*, project: Project, feedback_id: int) -> FeedbackDetail | None:
    """A feedback item of the project with its prediction and all feedback on it; None when
    the item does not exist in this project."""
    feedback = (
        Feedback.objects.filter(project=project, id=feedback_id)
        .select_related("prediction__model_version")
        .first()
    )
    if feedback is None:
        return None
    thread = Feedback.objects.filter(project=project)
    if feedback.prediction_id is None:
        thread = thread.filter(id=feedback.id)
    else:
        thread = thread.filter(prediction_id=feedback.prediction_id)
    thread = (
        thread.annotate(
            category_id=F("assignment__category_id"),
            category_title=F("assignment__category__title"),
        )
        .prefetch_related(
            Prefetch("repeats", queryset=FeedbackRepeat.objects.order_by("created_at"))
        )
        .order_by("created_at", "id")
    )
    return FeedbackDetail(feedback=feedback, prediction=feedback.prediction, thread=list(thread))
