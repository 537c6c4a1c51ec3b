"""CSV imports: the customer's rows out of stored upload files and out of the imports'
reports.

An import deletes its upload when it finishes (feedback/imports.py), and its report holds
only line numbers, column names and fixed messages: once the upload is gone nothing links a
report line to a person. An upload is still stored while the import is a draft (its columns
not chosen yet), or when it stopped on an internal error. For those:
- a row is the customer's when its customer column hashes to their reference, its request
  id is one of their predictions', or its text is one of their texts;
- a draft's file is rewritten without their rows (it can still be started);
- a finished job's leftover file is deleted (no import reads it again);
- report lines and sampled problems at their rows' lines are removed.
Imports in flight are not touched: the erasure waits for them (erasure.py).
"""

import csv
import hashlib
import io
import re

from django.conf import settings
from django.core.files.base import ContentFile

from core import files
from feedback import csvparse
from feedback.imports import REPORT_COLUMNS, mapping_guess
from feedback.keys import customer_ref_hash
from feedback.models import ImportJob

from .records import Customer

FIELDS = ("customer_ref", "request_id", "text")
_SURROGATE = re.compile("[\udc80-\udcff]")


def _clean_name(value: str) -> str:
    # As the import reads header names (feedback/csvparse.py).
    return _SURROGATE.sub("\ufffd", value.replace("\x00", "")).strip()


def import_files_scrub(*, customer: Customer) -> int:
    """Remove the customer's rows from the project's stored import files and their reports.
    Returns how many rows were removed."""
    secret = settings.VOC_CUSTOMER_REF_KEY
    removed = 0
    jobs = ImportJob.objects.filter(project=customer.project).exclude(
        status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    )
    for job in jobs.exclude(file=""):
        if not files.exists(job.file.name):
            continue
        lines = _their_lines(job, customer, secret)
        if not lines:
            continue
        removed += len(lines)
        if job.status == ImportJob.Status.DRAFT:
            _rewrite(job, lines)
        else:
            name = job.file.name
            ImportJob.objects.filter(id=job.id).update(file="")
            job.file.storage.delete(name)
        _report_scrub(job, lines)
    return removed


def _rows(job: ImportJob):
    """(first line, fields) of every record of the upload, the header first."""
    options = csvparse.Options(encoding=job.encoding, delimiter=job.delimiter)
    with files.open_read(job.file.name) as raw:
        text = csvparse.text_stream(raw, options)
        reader = csv.reader(text, delimiter=csvparse.DELIMITERS[job.delimiter])
        consumed = 0
        try:
            for fields in reader:
                yield consumed + 1, fields
                consumed = reader.line_num
        except csv.Error:
            # The rest cannot be read as CSV: attributed to no one, and left as it is.
            return


def _their_lines(job: ImportJob, customer: Customer, secret: str) -> set[int]:
    rows = _rows(job)
    header = None
    for _, fields in rows:
        if any(value.strip() for value in fields):
            header = [_clean_name(value) for value in fields]
            break
    if header is None:
        return set()
    mapping = {**mapping_guess(header), **(job.mapping or {})}
    positions = {
        name: header.index(mapping[name]) for name in FIELDS if mapping.get(name) in header
    }
    texts = {text.strip() for text in customer.texts}
    found = set()
    for line, fields in rows:
        values = {
            name: fields[position].strip()
            for name, position in positions.items()
            if position < len(fields)
        }
        ref = values.get("customer_ref")
        if (
            (ref and customer_ref_hash(
                project_id=customer.project.id, customer_ref=ref, secret=secret
            ) == customer.customer_hash)
            or values.get("request_id") in customer.request_ids
            or (values.get("text") and values["text"] in texts)
        ):  # fmt: skip
            found.add(line)
    return found


def _rewrite(job: ImportJob, lines: set[int]) -> None:
    """The draft's upload without the given records, in its own encoding and delimiter."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=csvparse.DELIMITERS[job.delimiter], lineterminator="\r\n")
    for line, fields in _rows(job):
        if line not in lines:
            writer.writerow(fields)
    data = out.getvalue().encode(csvparse.ENCODINGS[job.encoding], "surrogateescape")
    old = job.file.name
    job.file.save("upload.csv", ContentFile(data), save=False)
    ImportJob.objects.filter(id=job.id).update(
        file=job.file.name, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    job.file.storage.delete(old)


def _report_scrub(job: ImportJob, lines: set[int]) -> None:
    sample = [p for p in job.problems_sample if p.get("line") not in lines]
    fields: dict = {"problems_sample": sample}
    if files.exists(job.report.name):
        with files.open_read(job.report.name) as raw:
            handle = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            kept = [
                row
                for row in csv.reader(handle)
                if row and row != list(REPORT_COLUMNS) and _line(row) not in lines
            ]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(REPORT_COLUMNS)
        writer.writerows(kept)
        data = "\ufeff".encode() + out.getvalue().encode("utf-8")
        with files.write_file(job.report.name) as handle:
            handle.write(data)
        fields.update(report_bytes=len(data), report_lines=len(kept))
    ImportJob.objects.filter(id=job.id).update(**fields)


def _line(row: list[str]) -> int | None:
    try:
        return int(row[0])
    except ValueError:
        return None
