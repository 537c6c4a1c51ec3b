"""Ingest of predictions and feedback: validated item by item, stored in one transaction per
batch with INSERT ... ON CONFLICT DO NOTHING on the idempotency keys, follow-up work published
after commit. The API, the customer page and CSV imports all come through here."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.bulk import insert_ignoring_conflicts
from core.publish import publish

from . import dedup, keys, pii
from .models import Feedback, ModelVersion, Prediction, Project
from .validation import (
    SAME_AS_PREDICTED,
    UNKNOWN_PREDICTION,
    Limits,
    clean_feedback,
    clean_prediction,
)

DEFAULT_LIMITS = Limits()
# Follow-up work on new feedback is published in messages of this many ids.
FOLLOWUP_BATCH = 500


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    # (id, key) of the rows this call inserted: request_id for predictions, id for feedback.
    inserted: list[tuple] = field(default_factory=list)
    # Feedback only: accepted items recorded as repeats of an earlier complaint (dedup.py).
    repeats: int = 0

    def as_response(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


# --- ingest ----------------------------------------------------------------------------------


def _rejection(index: int, item, errors: dict, key: str) -> dict:
    value = item.get(key) if type(item) is dict else None
    return {"index": index, key: value if type(value) is str else None, "errors": errors}


def _db_time(value):
    return connection.ops.adapt_datetimefield_value(value)


def _customer_hash(project: Project, customer_ref: str | None) -> str:
    if not customer_ref:
        return ""
    return keys.customer_ref_hash(
        project_id=project.id, customer_ref=customer_ref, secret=settings.VOC_CUSTOMER_REF_KEY
    )


# (project id, version) -> id. A version is never renamed and, having traffic, never deleted
# (PROTECT), so ids can be remembered for the life of the process: one query less per batch.
_version_ids: dict[tuple[int, str], int] = {}


def model_versions_resolve(*, project: Project, names: set[str]) -> dict[str, int]:
    """Ids of the named versions, creating the missing ones (race-safe)."""
    found = {
        name: _version_ids[(project.id, name)]
        for name in names
        if (project.id, name) in _version_ids
    }
    if len(found) == len(names):
        return found
    found.update(
        ModelVersion.objects.filter(project=project, version__in=names - found.keys()).values_list(
            "version", "id"
        )
    )
    missing = names - found.keys()
    if missing:
        now = _db_time(timezone.now())
        insert_ignoring_conflicts(
            ModelVersion._meta.db_table,
            ["project_id", "version", "released_at", "offline_metrics", "notes"],
            [(project.id, name, now, "{}", "") for name in sorted(missing)],
            returning=["id"],
            json_columns=frozenset({"offline_metrics"}),
        )
        found.update(
            ModelVersion.objects.filter(project=project, version__in=missing).values_list(
                "version", "id"
            )
        )
    return found


def model_version_ids_remember(*, project: Project, versions: dict[str, int]) -> None:
    """Remember ids once the transaction that may have created them has committed."""
    for name, version_id in versions.items():
        _version_ids[(project.id, name)] = version_id


PREDICTION_COLUMNS = [
    "project_id",
    "model_version_id",
    "request_id",
    "input_text",
    "input_data",
    "predicted_label",
    "scores",
    "confidence",
    "latency_ms",
    "served_at",
    "metadata",
    "customer_hash",
    "received_at",
]
PREDICTION_JSON = frozenset({"input_data", "scores", "metadata"})


def prediction_ingest(
    *, project: Project, items: Sequence, limits: Limits = DEFAULT_LIMITS
) -> IngestResult:
    """Store the valid predictions of a batch, idempotently by request_id.

    Invalid items are reported by index with field errors and do not stop the others. A
    request_id already stored (by an earlier or a concurrent batch, or earlier in this one)
    counts as a duplicate. The valid part of the batch is written in one transaction.
    """
    result = IngestResult()
    labels = frozenset(project.labels)
    valid: list[dict] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        row, errors = clean_prediction(item, labels=labels, limits=limits)
        if errors:
            result.rejected.append(_rejection(index, item, errors, "request_id"))
        elif row["request_id"] in seen:
            result.duplicates += 1
        else:
            seen.add(row["request_id"])
            valid.append(row)
    if not valid:
        return result

    db_time = connection.ops.adapt_datetimefield_value  # looked up once: hot loop below
    now = db_time(timezone.now())
    with transaction.atomic():
        versions = model_versions_resolve(
            project=project, names={row["model_version"] for row in valid}
        )
        rows = [
            (
                project.id,
                versions[row["model_version"]],
                row["request_id"],
                row["input_text"] or "",
                row["input_data"],
                row["predicted_label"],
                row["scores"],
                row["confidence"],
                row["latency_ms"],
                db_time(row["served_at"]) if row["served_at"] else now,
                row["metadata"] or "{}",
                _customer_hash(project, row["customer_ref"]),
                now,
            )
            for row in valid
        ]
        inserted = insert_ignoring_conflicts(
            Prediction._meta.db_table,
            PREDICTION_COLUMNS,
            rows,
            returning=["id", "request_id"],
            json_columns=PREDICTION_JSON,
        )
        transaction.on_commit(
            partial(model_version_ids_remember, project=project, versions=versions)
        )
    result.inserted = inserted
    result.accepted = len(inserted)
    result.duplicates += len(valid) - len(inserted)
    return result


FEEDBACK_COLUMNS = [
    "project_id",
    "prediction_id",
    "predicted_label",
    "model_version_id",
    "kind",
    "text",
    "corrected_label",
    "rating",
    "source",
    "external_id",
    "customer_hash",
    "created_at",
    "received_at",
    "triage_state",
    "dedup_key",
    "repeat_count",
]


def feedback_ingest(
    *,
    project: Project,
    items: Sequence,
    default_source: str = "api",
    limits: Limits = DEFAULT_LIMITS,
) -> IngestResult:
    """Store the valid feedback items of a batch, idempotently by external_id when given.

    Corrections and ratings must name a stored prediction of the project (by request_id).
    An item about a prediction without its own customer_ref is attributed to the customer
    the prediction was served to. When the project enables it, free text is PII-redacted
    (`pii.redact`) before anything is stored. A complaint repeating one of the same customer
    within the dedup window is recorded as a repeat of it (`dedup.py`): it counts as
    accepted, raises that complaint's repeat_count and is not a new row. Valid items are
    written in one transaction, whatever the others. After commit, the ids of new feedback
    are published to the follow-up tasks (VOC_FEEDBACK_INGESTED_TASKS); if the broker is down
    the sweepers pick them up later.
    """
    result = IngestResult()
    labels = frozenset(project.labels)
    cleaned: list[tuple[int, object, dict]] = []
    for index, item in enumerate(items):
        row, errors = clean_feedback(
            item, labels=labels, limits=limits, default_source=default_source
        )
        if errors:
            result.rejected.append(_rejection(index, item, errors, "request_id"))
        else:
            cleaned.append((index, item, row))

    request_ids = {row["request_id"] for _, _, row in cleaned if row["request_id"]}
    predictions = {
        row[0]: row[1:]
        for row in Prediction.objects.filter(
            project=project, request_id__in=request_ids
        ).values_list("request_id", "id", "predicted_label", "model_version_id", "customer_hash")
    }
    redact = pii.redact if project.pii_redaction else None
    now = timezone.now()
    received_at = _db_time(now)
    rows: list[dict] = []
    seen_external: set[str] = set()
    for index, item, row in cleaned:
        prediction_id, predicted_label, version_id, served_to = None, "", None, ""
        if row["request_id"]:
            if row["request_id"] not in predictions:
                result.rejected.append(
                    _rejection(index, item, {"request_id": [str(UNKNOWN_PREDICTION)]}, "request_id")
                )
                continue
            prediction_id, predicted_label, version_id, served_to = predictions[row["request_id"]]
            if row["kind"] == "correction" and row["corrected_label"] == predicted_label:
                result.rejected.append(
                    _rejection(
                        index, item, {"corrected_label": [str(SAME_AS_PREDICTED)]}, "request_id"
                    )
                )
                continue
        if row["external_id"] is not None:
            if row["external_id"] in seen_external:
                result.duplicates += 1
                continue
            seen_external.add(row["external_id"])
        text, corrected_label = row["text"] or "", row["corrected_label"] or ""
        if redact:
            text = redact(text)
            if not labels:  # free-text answers are customer text too
                corrected_label = redact(corrected_label)
        customer_hash = _customer_hash(project, row["customer_ref"]) or served_to
        created_at = row["created_at"] or now
        rows.append(
            {
                "project_id": project.id,
                "prediction_id": prediction_id,
                "predicted_label": predicted_label,
                "model_version_id": version_id,
                "kind": row["kind"],
                "text": text,
                "corrected_label": corrected_label,
                "rating": row["rating"],
                "source": row["source"],
                "external_id": row["external_id"],
                "customer_hash": customer_hash,
                "created_at": _db_time(created_at),
                "received_at": received_at,
                "triage_state": Feedback.TriageState.NEW,
                "dedup_key": dedup.dedup_key(
                    customer_hash=customer_hash, prediction_id=prediction_id, text=text
                )
                if row["kind"] == Feedback.Kind.COMPLAINT
                else "",
                "repeat_count": 1,
                "_created": created_at,
                "_index": index,
                "_item": item,
            }
        )
    if not rows:
        return result
    with transaction.atomic():
        rows = _with_live_predictions(rows, result)
        if not rows:
            return result
        plan = dedup.complaints_plan(project=project, rows=rows)
        inserted = insert_ignoring_conflicts(
            Feedback._meta.db_table,
            FEEDBACK_COLUMNS,
            [tuple(row[column] for column in FEEDBACK_COLUMNS) for row in plan.insert],
            returning=["id", "dedup_key"],
        )
        repeats = dedup.repeats_record(project=project, plan=plan, inserted=inserted)
        ids = [feedback_id for feedback_id, _ in inserted]
        if ids:
            transaction.on_commit(partial(feedback_followups_publish, ids))
    result.inserted = [(feedback_id,) for feedback_id in ids]
    result.repeats = repeats
    result.accepted = len(inserted) + repeats
    result.duplicates += len(rows) - result.accepted  # retries, by external_id
    return result


def _with_live_predictions(rows: list[dict], result: IngestResult) -> list[dict]:
    """The rows whose prediction still exists, each held (FOR KEY SHARE) until the insert
    commits; the others are rejected as unknown. Call inside the inserting transaction.

    Retention deletes old predictions without feedback, and the column has no database
    constraint (see Feedback.prediction): without this hold a sweep could delete the
    prediction in between and the feedback would point at nothing. Held, the sweep's delete
    waits for this commit, then sees the feedback and undoes its batch; deleted first (even
    uncommitted: the hold waits for it), the item is refused."""
    wanted = sorted({row["prediction_id"] for row in rows if row["prediction_id"] is not None})
    if not wanted or connection.vendor != "postgresql":  # SQLite runs one writer at a time
        return rows
    table = connection.ops.quote_name(Prediction._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) FOR KEY SHARE", [wanted])  # noqa: S608
        live = {prediction_id for (prediction_id,) in cursor.fetchall()}
    kept = []
    for row in rows:
        if row["prediction_id"] is None or row["prediction_id"] in live:
            kept.append(row)
        else:
            result.rejected.append(
                _rejection(
                    row["_index"],
                    row["_item"],
                    {"request_id": [str(UNKNOWN_PREDICTION)]},
                    "request_id",
                )
            )
    result.rejected.sort(key=lambda rejection: rejection["index"])
    return kept


def feedback_followups_publish(feedback_ids: list[int]) -> None:
    """Hand new feedback to the follow-up tasks; never raises (see core.publish.publish)."""
    for task_name in settings.VOC_FEEDBACK_INGESTED_TASKS:
        for start in range(0, len(feedback_ids), FOLLOWUP_BATCH):
            publish(task_name, feedback_ids[start : start + FOLLOWUP_BATCH])
