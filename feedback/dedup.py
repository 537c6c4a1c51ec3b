"""Near-duplicate complaints: the same customer repeating the same complaint within a window is
recorded once, with `Feedback.repeat_count` counting the occurrences.

- "The same complaint": equal after normalisation (Unicode NFKC, case folding, punctuation,
  symbols and whitespace collapsed), see `normalise`.
- "The same customer": the item's hashed customer reference, else the customer the linked
  prediction was served to (a prediction's feedback link is that customer's). Complaints about
  different predictions are different evidence and are never merged; a complaint with neither
  a customer nor a prediction cannot be attributed and is never merged either.
- "Within the window": at most `VOC_FEEDBACK_DEDUP_WINDOW_HOURS` (default 24) from the first
  occurrence, in the complaint's own time (`created_at`), so imports of history dedup the same
  way as live traffic. Superseded complaints (changed on the customer page) are not matched.

Race safety: on PostgreSQL a transaction-scoped advisory lock per key serialises writers of
the same complaint (others do not wait); SQLite's IMMEDIATE transactions serialise all writers.
Each repeat is a `FeedbackRepeat` row, so retrying an item with an external_id never counts it
twice. A batch costs a fixed number of queries, whatever its size.
"""

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Case, F, PositiveIntegerField, Value, When

from core.bulk import insert_ignoring_conflicts

from .models import Feedback, FeedbackRepeat, Project

_NOT_WORD = re.compile(r"[\W_]+")
# First argument of the two-key advisory lock ("VOC"): keeps our locks apart from others'.
_LOCK_CLASS = 0x564F43


def window() -> timedelta:
    return timedelta(hours=settings.VOC_FEEDBACK_DEDUP_WINDOW_HOURS)


def normalise(text: str) -> str:
    """Text reduced to what makes two complaints "the same": case, width, punctuation,
    symbols (emoji) and whitespace do not count."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def dedup_key(*, customer_hash: str, prediction_id: int | None, text: str) -> str:
    """The key of a complaint, or "" when its customer cannot be told (never merged)."""
    if not customer_hash and prediction_id is None:
        return ""
    normalised = normalise(text) or text.strip()
    material = f"{customer_hash}\x00{prediction_id or ''}\x00{normalised}"
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(eq=False)
class _Anchor:
    """The first occurrence a repeat is merged into: stored (id) or new in this batch (row)."""

    created_at: datetime
    id: int | None = None
    row: dict | None = None


@dataclass
class Plan:
    insert: list[dict]
    repeats: list[tuple[dict, _Anchor]] = field(default_factory=list)
    duplicates: int = 0


def _lock(keys: set[str]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: the transaction already holds the database's write lock
    ids = sorted({int(key[:8], 16) - 2**31 for key in keys})
    with connection.cursor() as cursor:
        # In ascending order, so two batches sharing keys cannot deadlock.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, k) FROM "
            "(SELECT unnest(%s::int[]) AS k ORDER BY 1) AS ordered",
            [_LOCK_CLASS, ids],
        )


def complaints_plan(*, project: Project, rows: list[dict]) -> Plan:
    """Split rows into those to insert and repeats of earlier complaints. Must run inside the
    transaction that writes the rows (it takes the locks). Rows are dicts of FEEDBACK_COLUMNS
    plus `_created` (an aware datetime)."""
    keyed = [row for row in rows if row["dedup_key"]]
    if not keyed:
        return Plan(insert=rows)
    keys = {row["dedup_key"] for row in keyed}
    _lock(keys)

    # Items already recorded (a retry): by external_id, as a complaint or as a repeat.
    external_ids = [row["external_id"] for row in keyed if row["external_id"] is not None]
    known: set[str] = set()
    if external_ids:
        for model in (Feedback, FeedbackRepeat):
            known.update(
                model.objects.filter(project=project, external_id__in=external_ids).values_list(
                    "external_id", flat=True
                )
            )
    plan = Plan(insert=[])
    candidates = []
    for row in rows:
        if row["dedup_key"] and row["external_id"] in known:
            plan.duplicates += 1
        else:
            plan.insert.append(row)
            if row["dedup_key"]:
                candidates.append(row)
    if not candidates:
        return plan

    span = window()
    anchors: dict[str, list[_Anchor]] = defaultdict(list)
    stored = (
        Feedback.objects.filter(
            project=project,
            dedup_key__in={row["dedup_key"] for row in candidates},
            superseded_at__isnull=True,
            created_at__gte=min(row["_created"] for row in candidates) - span,
            created_at__lte=max(row["_created"] for row in candidates) + span,
        )
        # Spelled out so PostgreSQL matches the partial index: it cannot infer it from an
        # IN list of more than 100 keys.
        .exclude(dedup_key="")
        .values_list("id", "dedup_key", "created_at")
    )
    for feedback_id, key, created_at in stored:
        anchors[key].append(_Anchor(created_at=created_at, id=feedback_id))

    repeated = set()
    for row in sorted(candidates, key=lambda r: r["_created"]):
        near = [a for a in anchors[row["dedup_key"]] if abs(a.created_at - row["_created"]) <= span]
        if near:
            anchor = min(near, key=lambda a: abs(a.created_at - row["_created"]))
            plan.repeats.append((row, anchor))
            repeated.add(id(row))
        else:
            anchors[row["dedup_key"]].append(_Anchor(created_at=row["_created"], row=row))
    plan.insert = [row for row in plan.insert if id(row) not in repeated]
    return plan


def repeats_record(*, project: Project, plan: Plan, inserted: list[tuple]) -> int:
    """Record the plan's repeats once its rows are inserted (`inserted`: (id, dedup_key) of
    the rows the insert returned). Returns how many repeats were recorded."""
    if not plan.repeats:
        return 0
    new_anchors = {id(anchor.row): anchor for _, anchor in plan.repeats if anchor.id is None}
    if new_anchors:
        keys = {anchor.row["dedup_key"] for anchor in new_anchors.values()}
        ids = [feedback_id for feedback_id, key in inserted if key in keys]
        by_key_time = {
            (key, created_at): feedback_id
            for feedback_id, key, created_at in Feedback.objects.filter(id__in=ids).values_list(
                "id", "dedup_key", "created_at"
            )
        }
        for anchor in new_anchors.values():
            anchor.id = by_key_time.get((anchor.row["dedup_key"], anchor.row["_created"]))
    repeat_rows = [
        (
            project.id,
            anchor.id,
            row["external_id"],
            row["source"],
            row["created_at"],
            row["received_at"],
        )
        for row, anchor in plan.repeats
        # No id: the first occurrence lost a race on its external_id; its repeats go with it.
        if anchor.id is not None
    ]
    recorded = insert_ignoring_conflicts(
        FeedbackRepeat._meta.db_table,
        ["project_id", "feedback_id", "external_id", "source", "created_at", "received_at"],
        repeat_rows,
        returning=["feedback_id"],
    )
    counts = Counter(feedback_id for (feedback_id,) in recorded)
    if counts:
        Feedback.objects.filter(id__in=counts).update(
            repeat_count=F("repeat_count")
            + Case(
                *(When(id=feedback_id, then=Value(n)) for feedback_id, n in counts.items()),
                default=Value(0),
                output_field=PositiveIntegerField(),
            )
        )
    return len(recorded)
