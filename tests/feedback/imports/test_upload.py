"""Uploading a file and mapping its columns: what is refused, and why, before a job runs."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from feedback import imports
from feedback.imports import import_job_start, import_job_upload
from feedback.models import ImportJob
from tests.feedback.imports.helpers import EXPORT, upload

pytestmark = pytest.mark.django_db


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


def test_upload_streams_through_a_temporary_file(project, tmp_path):
    big = "Body,Created\n" + "".join(f"row {i},2025-01-02 10:00\n" for i in range(20_000))
    stream = SimpleUploadedFile("big.csv", big.encode())

    job = import_job_upload(project=project, upload=stream)

    assert job.header == ["Body", "Created"] and job.size_bytes == len(big.encode())
    assert open(job.file.path, "rb").read() == big.encode()
