"""The team's import pages."""

import pytest

from core.templatetags.ui import ident
from feedback.imports import import_job_run, import_job_upload
from feedback.models import ImportJob
from tests.factories import ProjectFactory
from tests.feedback.imports.helpers import EXPORT, upload
from tests.helpers import login

pytestmark = pytest.mark.django_db


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
    assert f"Import of {ident('export.csv')}" in detail.content.decode()
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


def test_imports_are_for_reviewers_of_the_project(client, project):
    job = import_job_upload(project=project, upload=upload(EXPORT))
    login(client, project, "viewer")

    assert client.get(f"/p/{project.slug}/imports/").status_code == 403
    login(client, ProjectFactory(), "admin")
    assert client.get(f"/p/{project.slug}/imports/{job.id}/").status_code == 404
