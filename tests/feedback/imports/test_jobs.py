"""Running an import job as the worker does (inline): rows stored, repeated, duplicate and
rejected, the report, resuming after a dead worker, the sweeper."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.csv_safe import neutralise
from core.jobs import MAX_ATTEMPTS
from feedback import csvparse, imports, validation
from feedback.imports import import_job_run, import_job_start, import_job_upload
from feedback.models import Feedback, FeedbackRepeat, ImportJob
from tests.factories import ProjectFactory
from tests.feedback.imports.helpers import EXPORT, MAPPING, report_of, run_import, upload

pytestmark = pytest.mark.django_db


def test_an_import_stores_the_complaints_and_reports_the_rejected_rows(project, prediction):
    job = run_import(project, EXPORT)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.rows_read, job.rows_accepted, job.rows_repeated, job.rows_rejected) == (5, 2, 1, 2)
    stored = {f.external_id: f for f in Feedback.objects.filter(project=project)}
    assert set(stored) == {"T-1", "T-2"}
    assert stored["T-1"].repeat_count == 2, "T-4: the same customer, the same complaint"
    assert stored["T-2"].prediction == prediction and stored["T-2"].source == "import"
    assert stored["T-1"].created_at.isoformat() == "2025-01-02T10:00:00+00:00"
    assert report_of(job) == [
        ["line", "column", "message"],
        ["4", "Created", csvparse.EMPTY_DATE],
        ["6", "Request", validation.UNKNOWN_PREDICTION],
    ]
    assert job.progress == 1.0 and job.problems_sample[0]["line"] == 4


def test_re_uploading_the_same_file_stores_nothing_twice(project, prediction):
    run_import(project, EXPORT)

    again = run_import(project, EXPORT)

    assert (again.rows_accepted, again.rows_repeated, again.rows_duplicate) == (0, 0, 3)
    assert Feedback.objects.count() == 2
    assert FeedbackRepeat.objects.count() == 1
    assert Feedback.objects.get(external_id="T-1").repeat_count == 2


def test_without_a_ticket_id_rows_are_recognised_by_their_content(project):
    mapping = {"text": "Body", "created_at": "Created"}
    first = run_import(project, EXPORT, mapping=mapping)
    overlapping = EXPORT.splitlines()[0] + "\nT-9,2025-02-01 09:00,a new one,c-9,\n"
    overlapping += EXPORT.splitlines()[1] + "\n"

    later = run_import(project, overlapping, mapping=mapping)

    assert first.rows_accepted == 4 and (later.rows_accepted, later.rows_duplicate) == (1, 1)


def test_report_cells_cannot_become_spreadsheet_formulas(project):
    content = '=HYPERLINK("http://evil.test"),Created\n,2025-01-02 10:00\n'
    mapping = {"text": '=HYPERLINK("http://evil.test")', "created_at": "Created"}

    job = run_import(project, content, mapping=mapping)

    assert report_of(job)[1] == ["2", '\'=HYPERLINK("http://evil.test")', csvparse.EMPTY_TEXT]
    assert neutralise("+1") == "'+1" and neutralise("-x") == "'-x"
    assert neutralise("@SUM") == "'@SUM" and neutralise("ok") == "ok"


def test_a_file_whose_header_lacks_a_column_fails_with_the_reason(project):
    job = import_job_upload(project=project, upload=upload("Body,Created\nx,2025-01-02\n"))
    import_job_start(job=job, mapping={"text": "Body", "created_at": "Created"})
    with open(job.file.path, "wb") as file:  # replaced on disk after the mapping was checked
        file.write(b"Other\nx\n")

    import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.error == csvparse.MISSING_COLUMN.format(column="Body")


def test_a_resumed_run_skips_the_committed_rows_and_cuts_the_report_back(project):
    content = "id,when,text\n" + "".join(
        f"{i},2025-01-02 10:{i:02d},{'complaint ' + str(i) if i % 3 else ''}\n" for i in range(9)
    )
    mapping = {"text": "text", "created_at": "when", "external_id": "id"}
    job = import_job_upload(project=project, upload=upload(content))
    import_job_start(job=job, mapping=mapping)
    # The state a worker that died after committing its first 4 rows leaves behind.
    head = "\n".join(content.splitlines()[:5]) + "\n"
    first = run_import(ProjectFactory(), head, mapping=mapping)
    ImportJob.objects.filter(id=job.id).update(
        status=ImportJob.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        rows_read=4,
        rows_accepted=2,
        rows_rejected=2,
        report=job.file.name.replace(".csv", "-rejected.csv"),
        report_bytes=first.report_bytes,
        report_lines=2,
    )
    job.refresh_from_db()
    with open(first.report.path, "rb") as source, open(job.report.path, "wb") as target:
        target.write(source.read() + b"9999,half-written,line from the dead worker\r\n")
    imports.feedback_ingest(project=project, items=[{"kind": "complaint", "text": "complaint 1",
                            "external_id": str(i), "created_at": "2025-01-02T10:00:00Z"}
                            for i in (1, 2)])  # fmt: skip

    assert imports.import_jobs_sweep().requeued == 1
    import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED and job.attempts == 1
    assert (job.rows_read, job.rows_accepted, job.rows_duplicate, job.rows_rejected) == (9, 6, 0, 3)
    assert [row[0] for row in report_of(job)] == ["line", "2", "5", "8"]


def test_the_uploaded_file_is_deleted_once_imported(
    project, prediction, django_capture_on_commit_callbacks
):
    job = import_job_upload(project=project, upload=upload(EXPORT))
    import_job_start(job=job, mapping=MAPPING)
    path = job.file.path

    with django_capture_on_commit_callbacks(execute=True):
        import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert not job.file and not os.path.exists(path), "raw customer text does not linger"
    assert job.file_name == "export.csv" and os.path.exists(job.report.path)


def test_the_sweeper_deletes_abandoned_drafts_with_their_files(project):
    fresh = import_job_upload(project=project, upload=upload(EXPORT))
    stale = import_job_upload(project=project, upload=upload(EXPORT))
    ImportJob.objects.filter(id=stale.id).update(created_at=timezone.now() - timedelta(days=2))

    imports.import_jobs_sweep()

    assert list(ImportJob.objects.values_list("id", flat=True)) == [fresh.id]
    assert os.path.exists(fresh.file.path) and not os.path.exists(stale.file.path)


def test_the_sweeper_gives_up_on_a_job_that_keeps_killing_its_worker(project):
    job = import_job_upload(project=project, upload=upload(EXPORT))
    ImportJob.objects.filter(id=job.id).update(
        status=ImportJob.Status.RUNNING,
        attempts=MAX_ATTEMPTS,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    imports.import_jobs_sweep()

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "Stopped after 3 attempts" in job.error


def test_a_job_runs_once_even_when_its_message_arrives_twice(project, prediction):
    job = import_job_upload(project=project, upload=upload(EXPORT))
    import_job_start(job=job, mapping=MAPPING)

    import_job_run(job_id=job.id)
    import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.rows_read == 5 and Feedback.objects.count() == 2


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.binary(max_size=1500))
def test_any_file_gives_stored_rows_plus_a_report_never_an_exception(project, body):
    job = import_job_upload(project=project, upload=upload(b"id,at,text\n" + body))
    import_job_start(job=job, mapping={"text": "text", "created_at": "at", "external_id": "id"})

    import_job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.rows_read == (
        job.rows_accepted + job.rows_repeated + job.rows_duplicate + job.rows_rejected
    )
    assert len(report_of(job)) - 1 == job.report_lines >= job.rows_rejected
