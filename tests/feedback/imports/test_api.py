"""The imports API."""

import pytest

from feedback import imports
from feedback.imports import import_job_run, import_job_upload
from feedback.models import ImportJob
from tests.factories import ProjectFactory
from tests.feedback.imports.helpers import EXPORT, upload

pytestmark = pytest.mark.django_db


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
    assert [c.args for c in callbacks] == [(ImportJob.TASK_NAME, body["id"])]

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
