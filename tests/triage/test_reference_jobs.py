"""Reference datasets read by a background job: the upload only stores the file and queues
it; the job reads it into keys with progress; a bad file fails saying why; an export can use
only a ready one; a lost worker's read is taken back by the sweeper."""

import io
import json
from datetime import timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.jobs import MAX_ATTEMPTS, Claim
from tests.factories import FeedbackFactory, PredictionFactory, ProjectFactory
from tests.helpers import login, reference_ready
from triage.exports import reference
from triage.exports.reference import read_keys
from triage.models import ReferenceDataset
from triage.services import reference_read as job
from triage.services.export_build import export_build
from triage.services.exports import ExportInvalid, export_request
from triage.services.references import reference_delete, reference_keys, reference_upload

pytestmark = pytest.mark.django_db

TEXTS = ["Where is my card?", "I was charged twice", "  where is MY card  ", "refund please"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def published(monkeypatch):
    """The messages sent to workers (task name, job id), instead of a broker."""
    sent = []
    for module in ("core.jobs", "triage.services.references"):
        monkeypatch.setattr(f"{module}.publish", lambda name, *args: sent.append((name, *args)))
    return sent


def queued(project, data: bytes, name="train.csv", column="text") -> ReferenceDataset:
    return reference_upload(
        project=project, upload=SimpleUploadedFile(name, data), text_column=column
    )


def csv_of(texts) -> bytes:
    return pd.DataFrame({"text": texts, "label": "x"}).to_csv(index=False).encode()


def parquet_of(texts) -> bytes:
    out = io.BytesIO()
    pd.DataFrame({"text": texts}).to_parquet(out)
    return out.getvalue()


def jsonl_of(texts) -> bytes:
    return "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()


# --- the request ----------------------------------------------------------------------------


def test_the_upload_stores_the_file_and_queues_it_without_reading_it(
    published, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(reference, "read_keys", lambda *a, **k: pytest.fail("read in request"))
    project = ProjectFactory()

    with django_capture_on_commit_callbacks(execute=True):
        dataset = queued(project, csv_of(TEXTS))

    dataset.refresh_from_db()
    assert (dataset.status, dataset.rows, dataset.key_count, dataset.sha256) == ("queued", 0, 0, "")
    assert not dataset.keys and not dataset.is_ready
    assert dataset.upload.storage.exists(dataset.upload.name)
    assert not dataset.upload.name.endswith("train.csv"), "never the uploader's name on disk"
    assert published == [("triage.reference_read", dataset.id)]


def test_the_page_answers_before_the_job_and_shows_it_queued(client, published):
    project = ProjectFactory(slug="shop")
    login(client, project, "reviewer")
    upload = io.BytesIO(csv_of(TEXTS))
    upload.name = "train.csv"

    response = client.post("/p/shop/exports/references", {"file": upload, "text_column": "text"})
    page = client.get("/p/shop/exports/").content.decode()

    dataset = project.references.get()
    assert response.status_code == 302 and dataset.status == "queued"
    assert "being read in the background" in page
    assert f'hx-get="/p/shop/exports/references/{dataset.id}"' in page, "polled while queued"
    assert "waiting for a worker" in page


# --- the job --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,data",
    [("csv", csv_of(TEXTS)), ("jsonl", jsonl_of(TEXTS)), ("parquet", parquet_of(TEXTS))],
)
def test_the_job_gives_the_same_keys_as_reading_the_file_directly(kind, data):
    dataset = reference_ready(ProjectFactory(), data, f"train.{kind}")

    expected = read_keys(io.BytesIO(data), kind=kind, column="text")
    assert np.array_equal(reference_keys(dataset), expected.keys)
    assert (dataset.status, dataset.rows, dataset.key_count) == ("succeeded", 4, 3)
    assert dataset.progress == 1.0 and dataset.bytes_read == dataset.size_bytes


def test_the_job_saves_its_progress_while_it_reads(monkeypatch):
    monkeypatch.setattr(reference, "BATCH", 2)
    monkeypatch.setattr(job, "PROGRESS_EVERY", 0)
    saved = []
    real = job.job_progress
    monkeypatch.setattr(job, "job_progress", lambda j, **f: (saved.append(f), real(j, **f)))
    texts = [f"question {chr(97 + i)}" for i in range(10)] + [""]

    dataset = reference_ready(ProjectFactory(), jsonl_of(texts), "train.jsonl")

    reads = [f for f in saved if f.get("rows")]
    assert [f["rows"] for f in reads] == [2, 4, 6, 8, 10]
    assert all(0 < a["bytes_read"] <= b["bytes_read"] for a, b in pairwise(reads))
    assert reads[-1]["bytes_read"] < dataset.size_bytes
    assert (dataset.rows, dataset.skipped, dataset.problems) == (
        11,
        1,
        ["line 11: 'text' is empty"],
    )


def test_a_running_reference_is_polled_with_its_progress_and_stops_when_ready(client):
    project = ProjectFactory(slug="shop")
    dataset = queued(project, csv_of(TEXTS))
    ReferenceDataset.objects.filter(id=dataset.id).update(
        status="running", bytes_read=dataset.size_bytes // 2, rows=2
    )
    login(client, project, "viewer")
    url = f"/p/shop/exports/references/{dataset.id}"

    running = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    job.reference_read(reference_id=dataset.id, task_id="other")  # BUSY: still running
    ReferenceDataset.objects.filter(id=dataset.id).update(status="queued")
    job.reference_read(reference_id=dataset.id)
    ready = client.get(url, HTTP_HX_REQUEST="true").content.decode()

    share = f"{dataset.size_bytes // 2 / dataset.size_bytes:.1%}"
    assert f'hx-get="{url}"' in running and "<progress" in running and share in running
    assert "hx-get" not in ready and "ready" in ready and ">3<" in ready
    assert client.get(url).status_code == 302, "outside HTMX: the Exports page"


@pytest.mark.parametrize(
    "data,name,column,error",
    [
        (b"query\nhi\n", "train.csv", "text", "Text column: The file has no column 'text'"),
        (b"text\nfine\n\xff\xfe\n", "train.csv", "text", "File: Not UTF-8 text (line 3)."),
        (b"PAR1 not really", "train.parquet", "text", "File: Not a readable Parquet file."),
        (jsonl_of(["", " "]), "train.jsonl", "text", "No row of the file has a text"),
        (b'text\n"open quote\n', "train.csv", "text", None),
    ],
)
def test_a_bad_file_fails_with_the_reason_and_its_upload_is_deleted(data, name, column, error):
    dataset = reference_ready(ProjectFactory(), data, name, column)

    if error is None:  # an unclosed quote is a value up to the end of the file, as in pandas
        assert dataset.status == "succeeded"
        return
    assert dataset.status == "failed" and error in dataset.error
    assert not dataset.keys and not dataset.upload


def test_an_unexpected_error_fails_without_details_and_a_redelivery_does_nothing(monkeypatch):
    monkeypatch.setattr(reference, "read_keys", lambda *a, **k: 1 / 0)

    dataset = reference_ready(ProjectFactory(), csv_of(TEXTS))

    assert dataset.status == "failed" and "server log" in dataset.error
    assert job.reference_read(reference_id=dataset.id) is Claim.NOTHING


def test_a_failed_reference_shows_its_error_escaped(client):
    project = ProjectFactory(slug="shop")
    dataset = reference_ready(project, b"<b>query</b>\nhi\n", "<i>train.csv")
    login(client, project, "viewer")

    page = client.get("/p/shop/exports/").content.decode()

    assert dataset.status == "failed"
    assert "&lt;b&gt;query&lt;/b&gt;" in page and "<b>query</b>" not in page
    assert "&lt;i&gt;train.csv" in page and "<i>train" not in page


# --- exports --------------------------------------------------------------------------------


@pytest.fixture
def corrected(db):
    project = ProjectFactory()
    prediction = PredictionFactory(project=project, input_text="Where is my card?")
    FeedbackFactory(prediction=prediction, corrected_label="card_not_working")
    return project


def test_an_export_with_a_reference_not_ready_is_refused_naming_it(corrected):
    waiting = queued(corrected, csv_of(TEXTS), "waiting.csv")
    failed = reference_ready(corrected, b"query\nhi\n", "broken.csv")

    for dataset, words in ((waiting, "is queued, not ready"), (failed, "could not be read")):
        with pytest.raises(ExportInvalid) as caught:
            export_request(project=corrected, format="jsonl", reference=dataset.id)
        message = caught.value.errors["reference"][0]
        assert f"#{dataset.id} ({dataset.name})" in message and words in message


def test_an_export_queued_while_its_reference_is_not_ready_fails_saying_so(corrected):
    dataset = reference_ready(corrected, csv_of(TEXTS))
    export = export_request(project=corrected, format="jsonl", reference=dataset.id)
    ReferenceDataset.objects.filter(id=dataset.id).update(status="running")

    export_build(export_id=export.id)

    export.refresh_from_db()
    assert export.status == "failed" and f"#{dataset.id} (train.csv) is running" in export.error


def test_the_export_form_offers_references_being_read_but_not_failed_ones(client, corrected):
    ready = reference_ready(corrected, csv_of(TEXTS), "ready.csv")
    queued(corrected, csv_of(TEXTS), "waiting.csv")
    reference_ready(corrected, b"query\nhi\n", "broken.csv")
    login(client, corrected, "reviewer")

    form = client.get(f"/p/{corrected.slug}/exports/").context["form"]

    labels = [label for _, label in form.fields["reference"].choices]
    assert labels[1:] == [
        "waiting.csv (being read, not ready yet)",
        f"ready.csv (3 inputs, {ready.created_at:%Y-%m-%d})",
    ]


# --- lost workers, duplicates, deletion -----------------------------------------------------


def stale(dataset, attempts=1):
    ReferenceDataset.objects.filter(id=dataset.id).update(
        status="running", task_id="dead", attempts=attempts,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip


def test_a_read_whose_worker_died_is_requeued_by_the_sweeper_and_read_again(published):
    dataset = queued(ProjectFactory(), csv_of(TEXTS))
    stale(dataset)
    # What the dead worker had written of its keys: removed before the read starts again.
    folder = ReferenceDataset.keys.field.storage.path(f"references/{dataset.project_id}")
    left = f"{folder}/{dataset.id}-dead.npy.part"
    open(left, "wb").close()

    counts = job.references_sweep()
    claim = job.reference_read(reference_id=published[-1][1], task_id="new")

    dataset.refresh_from_db()
    assert counts.requeued == 1 and published == [("triage.reference_read", dataset.id)]
    assert claim is Claim.TAKEN and dataset.status == "succeeded" and dataset.attempts == 2
    assert dataset.key_count == 3
    assert not (ReferenceDataset.keys.field.storage.exists(left))


def test_a_live_read_is_left_alone_by_the_sweeper_and_by_a_duplicate_message(published):
    dataset = queued(ProjectFactory(), csv_of(TEXTS))
    ReferenceDataset.objects.filter(id=dataset.id).update(
        status="running", task_id="alive", attempts=1, heartbeat_at=timezone.now()
    )

    assert job.references_sweep().published == 0
    assert job.reference_read(reference_id=dataset.id, task_id="dup") is Claim.BUSY


def test_a_read_that_killed_every_worker_is_given_up_and_its_upload_deleted(published):
    dataset = queued(ProjectFactory(), csv_of(TEXTS))
    stale(dataset, attempts=MAX_ATTEMPTS)
    upload = dataset.upload.path

    assert job.references_sweep().failed == 1

    dataset.refresh_from_db()
    assert dataset.status == "failed" and "worker died while reading" in dataset.error
    assert not dataset.upload and not ReferenceDataset.upload.field.storage.exists(upload)


def test_deleting_a_reference_still_queued_deletes_its_upload(
    django_capture_on_commit_callbacks, published
):
    dataset = queued(ProjectFactory(), csv_of(TEXTS))
    name = dataset.upload.name

    with django_capture_on_commit_callbacks(execute=True):
        reference_delete(dataset=dataset)

    assert not ReferenceDataset.upload.field.storage.exists(name)
    assert job.reference_read(reference_id=dataset.id) is Claim.NOTHING


def test_the_api_shows_the_status_and_progress(api, project):
    dataset = queued(project, csv_of(TEXTS))
    base = f"/api/v1/projects/{project.slug}/references"

    before = api.get(f"{base}/{dataset.id}").json()
    job.reference_read(reference_id=dataset.id)
    after = api.get(base).json()["results"][0]

    assert (before["status"], before["ready"], before["progress"]) == ("queued", False, 0.0)
    assert before["sha256"] == "" and before["finished_at"] is None
    assert (after["status"], after["ready"], after["progress"]) == ("succeeded", True, 1.0)
    assert (after["rows"], after["key_count"], after["error"]) == (4, 3, "")


def test_an_upload_through_the_api_answers_202_with_the_queued_dataset(
    project, make_key, published, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    exporter, reader = APIClient(), APIClient()
    exporter.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, ['export'])}")
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, ['read'])}")
    base = f"/api/v1/projects/{project.slug}/references"

    with django_capture_on_commit_callbacks(execute=True):
        response = exporter.post(
            base, {"file": SimpleUploadedFile("train.jsonl", jsonl_of(TEXTS))}, format="multipart"
        )
    refused = reader.post(
        base, {"file": SimpleUploadedFile("t.jsonl", jsonl_of(TEXTS))}, format="multipart"
    )
    bad = exporter.post(
        base, {"file": SimpleUploadedFile("t.xlsx", b"x"), "text_column": "q"}, format="multipart"
    )
    missing = exporter.post(base, {"text_column": "text"}, format="multipart")

    body = response.json()
    assert response.status_code == 202, body
    assert (body["status"], body["format"], body["text_column"]) == ("queued", "jsonl", "text")
    assert published == [("triage.reference_read", body["id"])]
    assert refused.status_code == 403, "uploading needs the export scope"
    assert bad.status_code == 400
    assert ".parquet" in bad.json()["error"]["details"]["file"][0]
    assert missing.status_code == 400 and "file" in missing.json()["error"]["details"]
    job.reference_read(reference_id=body["id"])
    assert reader.get(f"{base}/{body['id']}").json()["key_count"] == 3
