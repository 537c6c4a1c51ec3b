"""What the import tests share: a ticket-system export, its mapping, and running a job inline."""

import csv

from django.core.files.uploadedfile import SimpleUploadedFile

from feedback.imports import import_job_run, import_job_start, import_job_upload
from feedback.models import ImportJob

EXPORT = (
    "Ticket,Created,Body,Customer,Request\n"
    "T-1,2025-01-02 10:00,My card was declined,c-1,\n"
    'T-2,2025-01-02 11:00,"Wrong answer, again",c-2,r-1\n'
    "T-3,,no date,c-3,\n"
    "T-4,2025-01-02 12:00,my card was DECLINED!,c-1,\n"
    "T-5,2025-01-02 13:00,about a prediction we never logged,c-5,r-404\n"
)
MAPPING = {
    "text": "Body",
    "created_at": "Created",
    "external_id": "Ticket",
    "customer_ref": "Customer",
    "request_id": "Request",
}


def upload(content: bytes | str, name="export.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def run_import(project, content, mapping=MAPPING, **options) -> ImportJob:
    """Upload, start and run a job as the worker would (inline)."""
    job = import_job_upload(project=project, upload=upload(content), **options)
    import_job_start(job=job, mapping=mapping)
    import_job_run(job_id=job.id)
    job.refresh_from_db()
    return job


def report_of(job) -> list[list[str]]:
    with open(job.report.path, encoding="utf-8-sig", newline="") as report:
        return list(csv.reader(report))
