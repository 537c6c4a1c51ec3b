"""CSV imports of complaints exported from ticket tools (`ImportJob`): writes.

Upload (`import_job_upload`: the file is stored, its header read, a column mapping guessed)
-> start (`import_job_start`: the mapping is checked, the job queued after commit) -> run in a
Celery worker (`import_job_run`): the file is streamed through `csvparse.records` and the rows
go to `ingest.feedback_ingest` in batches of BATCH, so they get exactly what API feedback
gets (validation, PII redaction, dedup, follow-up tasks).

Guarantees:
- Idempotent: each row carries an external_id (the mapped column, else a key derived from
  its content), so re-uploading a file, or an overlapping later export, stores nothing twice.
- Resumable: a batch's rows, the job's counters and the report's committed size change in
  one transaction; a run that dies (worker lost, time limit) resumes after the last committed
  batch, and the report is cut back to the committed size first.
- Nothing crashes on bad input: every rejected row becomes report lines (line, column,
  message); the report is a CSV whose cells are neutralised against formula injection.
"""

import csv
import hashlib
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from core import files
from core.csv_safe import neutralise
from core.jobs import (
    Claim,
    JobLost,
    SweepCounts,
    job_claim,
    job_fail,
    job_finish,
    job_progress,
    job_requeue,
    jobs_sweep,
)
from core.publish import publish
from core.uploads import TOO_BIG

from . import csvparse
from .ingest import feedback_ingest
from .models import ImportJob, Project

logger = logging.getLogger(__name__)

# Rows per ingest call and per checkpoint: big enough to amortise the fixed queries of a
# batch, small enough that a resumed run redoes little.
BATCH = 1000
PROBLEMS_SAMPLE = 20
# A DRAFT this old was abandoned before its columns were chosen (it and its file are deleted).
STALE_DRAFT = timedelta(days=1)
REPORT_COLUMNS = ("line", "column", "message")

EMPTY_FILE = _("The file is empty.")
BAD_ENCODING_CHOICE = "Must be one of: " + ", ".join(csvparse.ENCODINGS) + "."
BAD_DELIMITER = _("Must be one of: comma, semicolon, tab, pipe.")
BAD_TIMEZONE = _("Not a time zone name such as UTC or Asia/Seoul.")
REQUIRED_COLUMN = _("Choose the column that holds this.")
UNKNOWN_COLUMN = _("No column '{column}' in the file's header: {header}.")
SAME_COLUMN = _("The text and the date cannot come from the same column.")
NOT_A_DRAFT = _("This import has already been started.")
UTF16_FILE = _('This file is UTF-16 (Excel\'s "Unicode text"): save it as "CSV UTF-8" instead.')
HEADER_NOT_DECODED = _(
    "The header row is not valid {encoding} text: choose the file's encoding (Korean Excel "
    'saves "CSV" in CP949).'
)
INTERNAL_ERROR = _("The import stopped on an unexpected error; the details are in the server log.")

# Lower-case header names a column is guessed from, best first.
GUESSES = {
    "text": ("text", "description", "body", "message", "comment", "complaint", "content",
             "subject", "내용", "문의내용", "본문", "설명"),
    "created_at": ("created_at", "created", "created date", "date", "timestamp", "time",
                   "submitted", "opened", "작성일", "등록일", "일시", "날짜"),
    "request_id": ("request_id", "request id", "prediction", "prediction id"),
    "customer_ref": ("customer_ref", "customer", "customer id", "customer_id", "requester",
                     "user", "user id", "email", "고객", "고객번호", "회원번호"),
    "external_id": ("external_id", "id", "ticket", "ticket id", "ticket_id", "ticket number",
                    "number", "티켓", "티켓번호", "번호"),
}  # fmt: skip
FIELD_OF = {"text", "created_at", "request_id", "customer_ref", "external_id"}


class ImportInvalid(Exception):
    """The upload or the mapping cannot be used; `errors` is field -> [messages]."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def mapping_guess(header: list[str]) -> dict[str, str]:
    """A column for each field whose name looks right; each column is used once."""
    lowered = {name.lower().strip(): name for name in header}
    guess: dict[str, str] = {}
    for field_name, names in GUESSES.items():
        for candidate in names:
            column = lowered.get(candidate)
            if column and column not in guess.values():
                guess[field_name] = column
                break
    return guess


def _options_check(*, encoding: str, delimiter: str, tz: str = "UTC") -> None:
    errors = {}
    if not csvparse.valid_encoding(encoding):
        errors["encoding"] = [BAD_ENCODING_CHOICE]
    if delimiter not in csvparse.DELIMITERS:
        errors["delimiter"] = [gettext(BAD_DELIMITER)]
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = [gettext(BAD_TIMEZONE)]
    if errors:
        raise ImportInvalid(errors)


def import_job_upload(
    *,
    project: Project,
    upload,
    encoding: str = "utf-8",
    delimiter: str = ",",
    created_by=None,
    api_key=None,
) -> ImportJob:
    """Store an uploaded CSV as a DRAFT job with its header and a guessed mapping. Reads the
    file in chunks (never whole). Raises ImportInvalid naming the field at fault."""
    _options_check(encoding=encoding, delimiter=delimiter)
    limit = settings.VOC_IMPORT_MAX_BYTES
    if not upload.size:
        raise ImportInvalid({"file": [gettext(EMPTY_FILE)]})
    if upload.size > limit:
        raise ImportInvalid({"file": [gettext(TOO_BIG).format(limit=limit)]})
    options = csvparse.Options(encoding=encoding, delimiter=delimiter)
    upload.seek(0)
    if upload.read(2) in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportInvalid({"file": [gettext(UTF16_FILE)]})
    upload.seek(0)
    header = csvparse.read_header(_Unclosable(upload), options)
    if not header:
        raise ImportInvalid({"file": [gettext(csvparse.NO_HEADER)]})
    if any("\ufffd" in name for name in header):
        raise ImportInvalid(
            {"encoding": [gettext(HEADER_NOT_DECODED).format(encoding=encoding.upper())]}
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    job = ImportJob(
        project=project,
        file_name=(upload.name or "upload.csv")[:255],
        size_bytes=upload.size,
        sha256=digest.hexdigest(),
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        mapping=mapping_guess(header),
        created_by=created_by,
        api_key=api_key,
    )
    upload.seek(0)
    job.file.save("upload.csv", upload, save=False)
    job.save()
    return job


def import_job_start(*, job: ImportJob, mapping: dict[str, str], tz: str = "UTC") -> ImportJob:
    """Check the mapping against the header and queue the job (after commit). Only a DRAFT
    can be started. Raises ImportInvalid naming the field at fault."""
    _options_check(encoding=job.encoding, delimiter=job.delimiter, tz=tz)
    if job.status != ImportJob.Status.DRAFT:
        raise ImportInvalid({"status": [gettext(NOT_A_DRAFT)]})
    mapping = {k: v for k, v in mapping.items() if k in FIELD_OF and v}
    errors: dict[str, list[str]] = {}
    for field_name in csvparse.REQUIRED_FIELDS:
        if not mapping.get(field_name):
            errors[field_name] = [gettext(REQUIRED_COLUMN)]
    header = ", ".join(job.header[:30]) + (", …" if len(job.header) > 30 else "")
    for field_name, column in mapping.items():
        if column not in job.header:
            errors[field_name] = [
                gettext(UNKNOWN_COLUMN).format(column=column[:100], header=header)
            ]
    if not errors and mapping["text"] == mapping["created_at"]:
        errors["created_at"] = [gettext(SAME_COLUMN)]
    if errors:
        raise ImportInvalid(errors)
    now = timezone.now()
    updated = ImportJob.objects.filter(id=job.id, status=ImportJob.Status.DRAFT).update(
        status=ImportJob.Status.QUEUED, mapping=mapping, time_zone=tz, queued_at=now
    )
    if updated != 1:
        raise ImportInvalid({"status": [gettext(NOT_A_DRAFT)]})
    transaction.on_commit(partial(publish, ImportJob.TASK_NAME, job.id))
    job.refresh_from_db()
    return job


class _Unclosable(io.RawIOBase):
    """A view of an uploaded file that the text decoder may close without closing it."""

    def __init__(self, upload):
        self.upload = upload

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.upload.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --- running ---------------------------------------------------------------------------------


def report_rows(problems: list[csvparse.Problem]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for problem in problems:
        writer.writerow([problem.line, neutralise(problem.column), neutralise(problem.message)])
    return buffer.getvalue().encode("utf-8", "replace")


@dataclass
class _Run:
    job: ImportJob
    report: files.AppendedFile  # positioned at the committed end
    mapping: csvparse.Mapping
    batch: list[csvparse.Record]

    def flush(self, bytes_read: int) -> None:
        """Ingest the batch and commit it with the counters and the report (one transaction)."""
        job, records = self.job, self.batch
        if not records:
            return
        items = [record.item for record in records if record.item is not None]
        owners = [record for record in records if record.item is not None]
        problems = [p for record in records for p in record.problems]
        rejected = sum(1 for record in records if record.item is None)
        with transaction.atomic():
            result = feedback_ingest(project=job.project, items=items, default_source="import")
            for rejection in result.rejected:
                record = owners[rejection["index"]]
                for name, messages in rejection["errors"].items():
                    column = getattr(self.mapping, name, "") if name in FIELD_OF else ""
                    problems += [csvparse.Problem(record.line, column, m) for m in messages]
            rejected += len(result.rejected)
            problems.sort(key=lambda p: p.line)
            self.report.write(report_rows(problems))
            self.report.save()  # before the size that counts it is committed
            job.rows_read += len(records)
            job.rows_accepted += result.accepted - result.repeats
            job.rows_repeated += result.repeats
            job.rows_duplicate += result.duplicates
            job.rows_rejected += rejected
            job.report_lines += len(problems)
            job.report_bytes = self.report.tell()
            job.bytes_read = min(bytes_read, job.size_bytes)
            room = PROBLEMS_SAMPLE - len(job.problems_sample)
            job.problems_sample += [
                {"line": p.line, "column": p.column, "message": p.message} for p in problems[:room]
            ]
            _save_progress(job)
        self.batch = []


PROGRESS_FIELDS = (
    "rows_read",
    "rows_accepted",
    "rows_repeated",
    "rows_duplicate",
    "rows_rejected",
    "report_lines",
    "report_bytes",
    "bytes_read",
    "problems_sample",
)


def _save_progress(job: ImportJob) -> None:
    job_progress(job, **{name: getattr(job, name) for name in PROGRESS_FIELDS})


def _open_report(job: ImportJob) -> files.AppendedFile:
    """The report file, cut back to its committed size (a resumed run rewrites the rest)."""
    if not job.report:
        job.report.name = job.file.name.removesuffix(".csv") + "-rejected.csv"
        ImportJob.objects.filter(id=job.id).update(report=job.report.name)
    report = files.AppendedFile(job.report.name, job.report_bytes)
    if job.report_bytes == 0:
        # Spreadsheets take a CSV for UTF-8 only when it starts with the byte-order mark.
        report.write("\ufeff".encode() + ",".join(REPORT_COLUMNS).encode() + b"\r\n")
        report.save()
        job.report_bytes = report.tell()
    return report


def import_job_run(*, job_id: int, task_id: str = "") -> Claim:
    """Claim the job (core.jobs) and import its file, resuming after the last committed
    batch. Leaves the job SUCCEEDED or FAILED; QUEUED again when the task's time limit came
    first; RUNNING (for the sweeper) only when the database fails mid-way. Safe to call twice:
    the second call finds nothing to claim."""
    claim = job_claim(ImportJob, job_id, task_id or uuid.uuid4().hex)
    if claim is not Claim.TAKEN:
        return claim
    job = ImportJob.objects.select_related("project").get(id=job_id)
    mapping = csvparse.Mapping(**{k: v for k, v in job.mapping.items() if k in FIELD_OF})
    options = csvparse.Options(
        encoding=job.encoding, delimiter=job.delimiter, timezone=job.time_zone
    )
    try:
        # Read as a stream from the storage (web and worker may share no folder). Each
        # committed batch beats (job_progress): no heartbeat thread is needed.
        with _open_report(job) as report, files.open_read(job.file.name) as raw:
            run = _Run(job=job, report=report, mapping=mapping, batch=[])
            for record in csvparse.records(raw, mapping, options):
                if record.ordinal == 0:  # the header itself is unusable
                    run.report.write(report_rows(record.problems))
                    run.report.save()
                    job.report_lines += len(record.problems)
                    job.report_bytes = run.report.tell()
                    _finish(job, ImportJob.Status.FAILED, error=record.problems[0].message)
                    return claim
                if record.ordinal <= job.rows_read:
                    continue  # committed by an earlier run
                run.batch.append(record)
                if len(run.batch) >= BATCH:
                    run.flush(raw.tell())
            run.flush(job.size_bytes)
            _finish(job, ImportJob.Status.SUCCEEDED)
    except JobLost:
        logger.info("import %s was taken over; this run stops", job_id)
    except SoftTimeLimitExceeded:
        # A big file takes as many runs as it needs: the next one resumes after the last
        # committed batch.
        job_requeue(job)
    except DatabaseError:
        raise  # transient: the job stays RUNNING and the sweeper resumes it
    except Exception:
        logger.exception("import %s failed", job_id)
        job_fail(job, gettext(INTERNAL_ERROR))
    return claim


def _finish(job: ImportJob, status: str, error: str = "") -> None:
    """Record the outcome, then delete the uploaded file: it holds customer text that was
    never redacted, and its rows are in the database now (the report keeps no text)."""
    if status == ImportJob.Status.SUCCEEDED:
        job.bytes_read = job.size_bytes
    job_finish(job, status, error=error, **{name: getattr(job, name) for name in PROGRESS_FIELDS})
    transaction.on_commit(partial(_delete_upload, job.id, job.file.name))


def _delete_upload(job_id: int, name: str) -> None:
    if name:
        ImportJob.objects.filter(id=job_id).update(file="")
        ImportJob.file.field.storage.delete(name)


def import_jobs_sweep() -> SweepCounts:
    """Recover jobs a lost worker or message left behind (core.jobs), and delete abandoned
    drafts with their files."""
    now = timezone.now()
    drafts = ImportJob.objects.filter(
        status=ImportJob.Status.DRAFT, created_at__lt=now - STALE_DRAFT
    ).values_list("id", "file")
    for job_id, name in list(drafts):
        if ImportJob.objects.filter(id=job_id, status=ImportJob.Status.DRAFT).delete()[0]:
            ImportJob.file.field.storage.delete(name)
    return jobs_sweep(ImportJob)
