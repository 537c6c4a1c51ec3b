"""Reads for dataset exports: the list of a project's exports and the streamed corrections."""

import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from typing import NamedTuple

import psycopg
from django.db import connection
from django.db.models import Avg, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value

from feedback.models import Feedback, ModelVersion, Prediction, Project

from .models import (
    DatasetExport,
    ErrorCategory,
    ImprovementPoint,
    ItemAssignment,
    ReferenceDataset,
)

# Rows fetched per round trip from the database's server-side cursor.
FETCH_CHUNK = 5000
# ... for the build's stream (larger: fewer round trips, still a few MB), and how many such
# chunks may wait fetched ahead.
STREAM_CHUNK = 10_000
PREFETCH = 2
# The stream's own session: UTC timestamps like Django's; a cursor's plan is otherwise
# tuned for its first 10 % of rows (nested loops over indexes, about three times slower to
# read it all); JIT costs more to compile than it saves here; the sort by prediction stays
# in memory rather than spilling to disk.
STREAM_SETTINGS = (
    ("TimeZone", "UTC"),
    ("cursor_tuple_fraction", "1"),
    ("jit", "off"),
    ("work_mem", "64MB"),
)


def exports_for_project(*, project: Project) -> QuerySet[DatasetExport]:
    return DatasetExport.objects.filter(project=project).select_related(
        "created_by", "api_key", "project"
    )


def references_for_project(*, project: Project) -> QuerySet[ReferenceDataset]:
    return ReferenceDataset.objects.filter(project=project).select_related("created_by")


def reference_get(*, project: Project, reference_id: int) -> ReferenceDataset | None:
    """A reference dataset of the project, or None (another project's is as good as missing)."""
    return references_for_project(project=project).filter(id=reference_id).first()


def export_get(*, project: Project, export_id: int) -> DatasetExport | None:
    """An export of the project, or None (another project's export is as good as missing)."""
    return exports_for_project(project=project).filter(id=export_id).first()


def feedback_alive_at(as_of: datetime) -> Q:
    """Feedback that existed, and was not yet replaced by the customer, at `as_of`."""
    return Q(received_at__lte=as_of) & (Q(superseded_at__isnull=True) | Q(superseded_at__gt=as_of))


def export_category_ids(*, project: Project, filters: dict) -> list[int] | None:
    """The categories the filters select (their own and those of the improvement points),
    or None when the filters do not restrict by category (none named, or a project-wide
    improvement point, which is about all of them)."""
    categories = filters.get("categories") or []
    points = filters.get("improvement_points") or []
    if not categories and not points:
        return None
    project_wide = ImprovementPoint.objects.filter(
        id__in=points, project=project, categories__isnull=True
    )
    if points and project_wide.exists():
        return None
    ids = set(categories)
    if points:
        ids |= set(
            ImprovementPoint.categories.through.objects.filter(
                improvementpoint_id__in=points, improvementpoint__project=project
            ).values_list("errorcategory_id", flat=True)
        )
    return sorted(ids)


# A prediction whose input was erased at the customer's request (lifecycle's erasure blanks
# both; ingest never stores a prediction without one) never enters an export.
ERASED_INPUT = Q(prediction__input_text="", prediction__input_data__isnull=True)


def _export_feedback(
    *, export: DatasetExport, corrections: bool = True, erased: bool = False
) -> QuerySet:
    """The feedback an export's filters select, alive at its as_of: its corrections, or (with
    corrections=False) every feedback item about the predictions it selects. Every filter but
    the kind is about the prediction, so both selections pick the same predictions. Erased
    predictions are left out unless `erased` (what a file built before the erasure holds)."""
    project, filters, as_of = export.project, export.filters, export.as_of
    qs = Feedback.objects.filter(feedback_alive_at(as_of), project=project)
    if not erased:
        qs = qs.exclude(ERASED_INPUT)
    if corrections:
        qs = qs.filter(kind="correction")
    else:
        qs = qs.filter(prediction__isnull=False)
    if filters.get("model_versions"):
        versions = ModelVersion.objects.filter(
            project=project, version__in=filters["model_versions"]
        )
        # A correction carries its prediction's version; other feedback may not.
        if corrections:
            qs = qs.filter(model_version__in=versions)
        else:
            qs = qs.filter(prediction__model_version__in=versions)
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


class ExportFeedbackRow(NamedTuple):
    """One feedback item with its prediction, as the export's build reads them."""

    prediction_id: int
    request_id: str
    input_text: str
    predicted_label: str
    model_version_id: int
    served_at: datetime
    feedback_id: int
    kind: str
    corrected_label: str
    triage_state: str
    category_id: int | None
    scores: object  # the prediction's scores (JSON) when asked for, else None


# The query's column for each field of ExportFeedbackRow (scores: see export_feedback_rows).
_FEEDBACK_ROW_COLUMNS = (
    "prediction_id",
    "prediction__request_id",
    "prediction__input_text",
    "prediction__predicted_label",
    "prediction__model_version_id",
    "prediction__served_at",
    "id",
    "kind",
    "corrected_label",
    "triage_state",
    "assignment__category_id",
)


def export_feedback_rows(*, export: DatasetExport, scores: bool = False) -> QuerySet:
    """Every feedback item (alive at as_of) about the predictions the export's filters select,
    ordered by prediction then age (read them as ExportFeedbackRow with `stream_chunks`). The
    prediction's scores are read only when asked (they are the largest column). One pass
    groups them: a prediction is in the export when one of its items is a correction; all of
    its items make the provenance columns."""
    return (
        _export_feedback(export=export, corrections=False)
        # A plain NULL in the scores' place (typed JSON it would be a 'null' parsed per row).
        .annotate(no_scores=Value(None, output_field=IntegerField()))
        .order_by("prediction_id", "created_at", "id")
        .values_list(*_FEEDBACK_ROW_COLUMNS, "prediction__scores" if scores else "no_scores")
    )


def stream_chunks(qs: QuerySet, *, chunk: int = STREAM_CHUNK, row=None) -> Iterator[list]:
    """The rows of a values_list queryset, in lists of up to `chunk`, in bounded memory; as
    `row` (a NamedTuple of the same fields, in order) when given, else as plain tuples.

    On PostgreSQL the SQL Django compiles is read with plain psycopg in binary (no model or
    converter layer per row; JSON columns may arrive as text or parsed, timestamps as aware
    UTC datetimes). Outside a transaction it is streamed on a connection of its own by a
    thread that reads ahead while the caller works on the current chunk (the database and
    Python then work at the same time, and the caller's connection stays free for progress
    updates); inside one (tests), a server-side cursor on the caller's connection.
    Elsewhere (SQLite), Django's own chunked iterator."""
    if row is not None:
        make = row._make
        with closing(stream_chunks(qs, chunk=chunk)) as batches:  # its thread ends with ours
            for batch in batches:
                yield [make(values) for values in batch]
        return
    if connection.vendor != "postgresql":
        values = qs.iterator(chunk_size=chunk)
        while batch := [one for _, one in zip(range(chunk), values, strict=False)]:
            yield batch
        return
    sql, params = qs.query.sql_with_params()
    name = f"stream_{uuid.uuid4().hex}"
    if connection.in_atomic_block:
        # Inside the caller's transaction (tests): what it has not committed is visible
        # only on its own connection.
        connection.ensure_connection()
        yield from _fetch(connection.connection, name, sql, params, chunk)
        return
    yield from _prefetched(connection.get_connection_params(), name, sql, params, chunk)


def _fetch(conn, name: str, sql: str, params, chunk: int) -> Iterator[list[tuple]]:
    # Binary results: psycopg's C loaders parse them about twice as fast as text.
    with conn.cursor(name=name, binary=True) as cursor:
        cursor.itersize = chunk
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            yield rows


_END = object()


def _prefetched(params: dict, name: str, sql: str, args, chunk: int) -> Iterator[list[tuple]]:
    """The query's rows on a connection of its own, read ahead in a thread (at most PREFETCH
    chunks wait in memory)."""
    chunks: queue.Queue = queue.Queue(maxsize=PREFETCH)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            # One transaction, never committed: its settings are local to it (through a
            # PgBouncer in transaction mode the server connection serves other clients next:
            # nothing of ours must outlive the transaction there), and the settings and the
            # query run on the same server connection. A reader that stopped early leaves the
            # rest of the stream unread, which close() drops with the connection.
            conn = psycopg.connect(**params, autocommit=False)
            try:
                for setting, value in STREAM_SETTINGS:
                    conn.execute("SELECT set_config(%s, %s, true)", [setting, value])
                # A streamed query rather than a cursor: PostgreSQL runs cursors without
                # parallel workers; libpq 17+ hands the rows over in chunks.
                size = chunk if psycopg.pq.version() >= 170000 else 1
                rows = psycopg.Cursor(conn).stream(sql, args, binary=True, size=size)
                try:
                    batch: list[tuple] = []
                    for row in rows:
                        batch.append(row)
                        if len(batch) >= chunk:
                            if not put(batch):
                                return  # the reader stopped early
                            batch = []
                    if batch and not put(batch):
                        return
                finally:
                    # Closing the stream first cancels the query (it holds the connection's
                    # lock while suspended: closing the connection first would wait forever).
                    rows.close()
                conn.rollback()  # ends the transaction: a pooler may hand its server on
            finally:
                conn.close()
            put(_END)
        except BaseException as exc:  # handed to the reader, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="export-stream", daemon=True)
    thread.start()
    try:
        while (item := chunks.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def export_selects_predictions(*, export: DatasetExport, prediction_ids: list[int]) -> bool:
    """Whether the export's selection, erased predictions included, has corrections about
    any of these predictions (whether a file built before their erasure may hold them)."""
    return (
        _export_feedback(export=export, erased=True)
        .filter(prediction_id__in=prediction_ids)
        .exists()
    )


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


def export_correction_labels(*, export: DatasetExport) -> QuerySet:
    """The export's corrections ordered by prediction, as (prediction_id, corrected_label,
    triage_state, predicted_label): what resolving them needs, without their texts."""
    return (
        _export_feedback(export=export)
        .order_by("prediction_id", "created_at", "id")
        .values_list(
            "prediction_id", "corrected_label", "triage_state", "prediction__predicted_label"
        )
    )


def prediction_texts(*, ids: list[int]) -> dict[int, str]:
    """The input text of each of these predictions, read in batches."""
    texts = {}
    for start in range(0, len(ids), FETCH_CHUNK):
        batch = ids[start : start + FETCH_CHUNK]
        texts.update(Prediction.objects.filter(id__in=batch).values_list("id", "input_text"))
    return texts


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
