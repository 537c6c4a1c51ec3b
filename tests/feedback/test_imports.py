"""CSV imports: the service, the team pages and the API (the worker runs in tests/integration)."""

import csv
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback import csvparse, imports, validation
from feedback.imports import import_job_run, import_job_start, import_job_upload
from feedback.models import Feedback, FeedbackRepeat, ImportJob
from tests.factories import PredictionFactory, ProjectFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db

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


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


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


@pytest.fixture
def prediction(project):
    return PredictionFactory(project=project, request_id="r-1")


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
    assert imports.neutralise("+1") == "'+1" and imports.neutralise("-x") == "'-x"
    assert imports.neutralise("@SUM") == "'@SUM" and imports.neutralise("ok") == "ok"


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

    assert imports.import_jobs_sweep() == 1
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
        attempts=imports.MAX_ATTEMPTS - 1,
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


@pytest.mark.parametrize(
    ("mapping", "field", "message"),
    [
        ({"created_at": "Created"}, "text", imports.REQUIRED_COLUMN),
        ({"text": "Nope", "created_at": "Created"}, "text", "No column 'Nope' in the file's"),
        ({"text": "Body", "created_at": "Body"}, "created_at", imports.SAME_COLUMN),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_field(project, mapping, field, message):
    job = import_job_upload(project=project, upload=upload(EXPORT))

    with pytest.raises(imports.ImportInvalid) as invalid:
        import_job_start(job=job, mapping=mapping)

    assert invalid.value.errors[field][0].startswith(message)
    assert ImportJob.objects.get(id=job.id).status == ImportJob.Status.DRAFT


def test_the_mapping_is_guessed_from_common_header_names():
    header = ["Ticket ID", "Subject", "Description", "Created", "Requester", "내용"]

    assert imports.mapping_guess(header) == {
        "text": "Description",
        "created_at": "Created",
        "customer_ref": "Requester",
        "external_id": "Ticket ID",
    }


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


# --- team pages ------------------------------------------------------------------------------


def test_a_reviewer_uploads_maps_and_follows_an_import(client, project, prediction):
    login(client, project, "reviewer")
    base = f"/p/{project.slug}/imports/"

    response = client.post(base, {"file": upload(EXPORT), "encoding": "utf-8", "delimiter": ","})
    job = ImportJob.objects.get()
    mapping_page = client.get(response["Location"])
    started = client.post(
        response["Location"],
        {
            "timezone": "Asia/Seoul",
            "text": "Body",
            "created_at": "Created",
            "external_id": "Ticket",
        },
    )
    job.refresh_from_db()
    detail = client.get(started["Location"])
    fragment = client.get(started["Location"], HTTP_HX_REQUEST="true")

    assert response["Location"] == f"{base}{job.id}/mapping"
    assert b'<option value="Body" selected>' in mapping_page.content, "guessed"
    assert (job.status, job.time_zone, job.mapping["external_id"]) == (
        "queued",
        "Asia/Seoul",
        "Ticket",
    )
    assert b"Import of export.csv" in detail.content
    assert b'hx-trigger="every 2s"' in fragment.content and b"<html" not in fragment.content

    import_job_run(job_id=job.id)
    finished = client.get(started["Location"], HTTP_HX_REQUEST="true")
    report = client.get(f"{base}{job.id}/report.csv")

    assert b"every 2s" not in finished.content and b"Download the report" in finished.content
    assert report["Content-Disposition"].startswith("attachment")
    assert b"".join(report.streaming_content).startswith(b"\xef\xbb\xbfline,column,message")


def test_upload_errors_name_the_problem(client, project, settings):
    login(client, project, "reviewer")
    base = f"/p/{project.slug}/imports/"
    settings.VOC_IMPORT_MAX_BYTES = 100

    too_big = client.post(base, {"file": upload("a,b\n" + "x" * 200), "encoding": "utf-8",
                                 "delimiter": ","})  # fmt: skip
    empty = client.post(base, {"file": upload(""), "encoding": "utf-8", "delimiter": ","})
    no_header = client.post(base, {"file": upload("\n\n"), "encoding": "utf-8", "delimiter": ","})

    assert too_big.status_code == 400 and b"larger than 100 bytes" in too_big.content
    assert empty.status_code == 400 and b"The submitted file is empty" in empty.content
    assert no_header.status_code == 400 and b"no header row" in no_header.content
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("content", "encoding", "field", "message"),
    [
        ("Body,Created\n".encode("utf-16"), "utf-8", "file", imports.UTF16_FILE),
        ("내용,작성일\n".encode("cp949"), "utf-8", "encoding", "The header row is not valid UTF-8"),
    ],
)
def test_a_file_in_another_encoding_is_explained_at_upload(
    project, content, encoding, field, message
):
    with pytest.raises(imports.ImportInvalid) as invalid:
        import_job_upload(project=project, upload=upload(content), encoding=encoding)

    assert invalid.value.errors[field][0].startswith(message)


def test_imports_are_for_reviewers_of_the_project(client, project):
    job = import_job_upload(project=project, upload=upload(EXPORT))
    login(client, project, "viewer")

    assert client.get(f"/p/{project.slug}/imports/").status_code == 403
    login(client, ProjectFactory(), "admin")
    assert client.get(f"/p/{project.slug}/imports/{job.id}/").status_code == 404


# --- API -------------------------------------------------------------------------------------


def api_upload(api, project, content, **fields):
    return api.post(
        f"/api/v1/projects/{project.slug}/imports",
        {"file": upload(content), **fields},
        format="multipart",
    )


def test_the_api_imports_a_file_in_the_background(
    api, project, prediction, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_upload(api, project, EXPORT, request_id_column="Request")

    body = response.json()
    assert response.status_code == 202
    assert body["status"] == "queued" and body["mapping"] == {
        "text": "Body",
        "created_at": "Created",
        "customer_ref": "Customer",
        "external_id": "Ticket",
        "request_id": "Request",
    }
    assert [c.args for c in callbacks] == [(imports.RUN_TASK, body["id"])]

    import_job_run(job_id=body["id"])
    status = api.get(f"/api/v1/projects/{project.slug}/imports/{body['id']}").json()
    report = api.get(f"/api/v1/projects/{project.slug}/imports/{body['id']}/report")

    assert (status["status"], status["rows_accepted"], status["rows_rejected"]) == (
        "succeeded",
        2,
        2,
    )
    assert status["progress"] == 1.0 and status["timezone"] == "UTC"
    assert report["Content-Type"].startswith("text/csv")
    assert b"Request" in b"".join(report.streaming_content)


@pytest.mark.parametrize(
    ("content", "fields", "param", "message"),
    [
        (EXPORT, {"text_column": "Nope"}, "text_column", "No column 'Nope'"),
        (EXPORT, {"encoding": "latin-9"}, "encoding", imports.BAD_ENCODING_CHOICE),
        (EXPORT, {"timezone": "Mars/Olympus"}, "timezone", imports.BAD_TIMEZONE),
        ("", {}, "file", imports.EMPTY_FILE),
        ("just,a,header\n", {}, "text_column", imports.REQUIRED_COLUMN),
    ],
)
def test_the_api_names_the_parameter_at_fault(api, project, content, fields, param, message):
    response = api_upload(api, project, content, **fields)

    assert response.status_code == 400
    assert response.json()["error"]["details"][param][0].startswith(message)
    assert not ImportJob.objects.exists()


def test_the_api_refuses_a_file_over_the_limit_with_413(api, project, settings):
    settings.VOC_IMPORT_MAX_BYTES = 1000

    response = api_upload(api, project, "Body,Created\n" + "x,2025-01-01\n" * 200)

    assert response.status_code == 413
    assert response.json()["error"]["details"]["max_bytes"] == 1000


def test_the_api_needs_the_ingest_scope_and_hides_other_projects_imports(client, project, make_key):
    job = import_job_upload(project=project, upload=upload(EXPORT))
    read_only = make_key(project, scopes=("read",))
    other = make_key(ProjectFactory())

    denied = client.post(
        f"/api/v1/projects/{project.slug}/imports",
        {"file": upload(EXPORT)},
        HTTP_AUTHORIZATION=f"Bearer {read_only}",
    )
    foreign = client.get(
        f"/api/v1/projects/{project.slug}/imports/{job.id}", HTTP_AUTHORIZATION=f"Bearer {other}"
    )

    assert denied.status_code == 403 and foreign.status_code == 403


def test_the_import_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()

    paths = schema["paths"]
    assert (
        "multipart/form-data"
        in (paths["/api/v1/projects/{slug}/imports"]["post"]["requestBody"]["content"])
    )
    assert "/api/v1/projects/{slug}/imports/{job_id}" in paths
    assert (
        "text/csv"
        in paths["/api/v1/projects/{slug}/imports/{job_id}/report"]["get"]["responses"]["200"][
            "content"
        ]
    )


def test_another_projects_job_is_a_404_through_the_api(api, project):
    job = import_job_upload(project=ProjectFactory(), upload=upload(EXPORT))

    assert api.get(f"/api/v1/projects/{project.slug}/imports/{job.id}").status_code == 404


def test_upload_streams_through_a_temporary_file(project, tmp_path):
    big = "Body,Created\n" + "".join(f"row {i},2025-01-02 10:00\n" for i in range(20_000))
    stream = SimpleUploadedFile("big.csv", big.encode())

    job = import_job_upload(project=project, upload=stream)

    assert job.header == ["Body", "Created"] and job.size_bytes == len(big.encode())
    assert open(job.file.path, "rb").read() == big.encode()
