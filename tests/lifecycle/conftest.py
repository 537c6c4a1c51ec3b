"""A project with one customer's distinctive texts planted everywhere they can travel: feedback
texts and prediction inputs (through ingest), a clustering run (keywords, representatives,
titles, the LSA vocabulary), a human title quoting them, stored vectors, a CSV import (done,
with a rejected row of theirs) and a draft one, and two exports holding their rows."""

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from feedback import imports
from feedback.ingest import feedback_ingest, prediction_ingest
from feedback.models import Feedback, ImportJob, Project
from tests.factories import ProjectFactory
from triage.models import ClusteringSettings, DatasetExport, ErrorCategory, ItemVector
from triage.services.categories import category_rename
from triage.services.clustering import clustering_run_execute, clustering_run_request
from triage.services.export_build import export_build
from triage.services.exports import export_request

REF = "cust-7781@example.test"
OTHER_REF = "cust-0042@example.test"
# Words no one else writes: wherever one of them is found after the erasure, it leaked.
PLANTED = ("zorbliquant", "quixeltrap", "flumbergast")
CUSTOMER_STRINGS = (*PLANTED, REF)
OTHER_TEXT = "marmalade courier lost the parcel"

TOPICS = {
    "card_arrival": (
        "card_arrival",
        "card_not_working",
        "when will my new card arrive in the post {i}",
        "still waiting for the card delivery, week {i}",
    ),
    "exchange_rate": (
        "exchange_rate",
        "card_arrival",
        "what exchange rate do you use for euros {i}",
        "the euro conversion rate was wrong on payment {i}",
    ),
    "lost_or_stolen_card": (
        "lost_or_stolen_card",
        "exchange_rate",
        "my card was stolen on the train {i}",
        "someone stole my wallet with the card {i}",
    ),
}


@dataclass
class Planted:
    project: Project
    their_feedback: list[int] = field(default_factory=list)
    their_requests: list[str] = field(default_factory=list)
    category: ErrorCategory | None = None
    exports: list[DatasetExport] = field(default_factory=list)
    import_done: ImportJob | None = None
    import_draft: ImportJob | None = None


def _ingest(project, start):
    predictions, feedback = [], []
    n = 0
    for topic, (correct, wrong, query, complaint) in TOPICS.items():
        for i in range(12):
            n += 1
            request_id = f"{topic}-{i}"
            predictions.append(
                {
                    "request_id": request_id,
                    "model_version": "v1",
                    "input_text": query.format(i=i),
                    "predicted_label": wrong,
                    "confidence": 0.7,
                    "served_at": (start + timedelta(minutes=n)).isoformat(),
                    "customer_ref": f"someone-{n}" if i else OTHER_REF,
                }
            )
            feedback.append(
                {"kind": "correction", "request_id": request_id, "corrected_label": correct}
            )
            feedback.append(
                {
                    "kind": "complaint",
                    "request_id": request_id,
                    "text": OTHER_TEXT if i == 0 else complaint.format(i=i),
                }
            )
    their_requests = []
    for i in range(6):
        request_id = f"theirs-{i}"
        their_requests.append(request_id)
        predictions.append(
            {
                "request_id": request_id,
                "model_version": "v1",
                "input_text": f"zorbliquant card jammed in the quixeltrap terminal {i}",
                "input_data": {"note": f"flumbergast branch {i}"},
                "predicted_label": "card_arrival",
                "confidence": 0.9,
                "served_at": (start + timedelta(minutes=100 + i)).isoformat(),
                "customer_ref": REF,
            }
        )
        feedback.append(
            {"kind": "correction", "request_id": request_id, "corrected_label": "card_not_working"}
        )
        feedback.append(
            {
                "kind": "complaint",
                "request_id": request_id,
                "text": f"Flumbergast! The zorbliquant quixeltrap machine ate my card {i}",
            }
        )
    assert not prediction_ingest(project=project, items=predictions).rejected
    assert not feedback_ingest(project=project, items=feedback).rejected
    return their_requests


IMPORT_CSV = (
    "Ticket ID,Created,Description,Customer\r\n"
    f"T-1,2025-01-05 10:00,Quixeltrap flumbergast refund never came,{REF}\r\n"
    f"T-2,2025-01-05 11:00,{OTHER_TEXT} again,{OTHER_REF}\r\n"
    f"T-3,,Zorbliquant missing date row,{REF}\r\n"
    "T-4,2025-01-06 09:00,The app logs me out,someone-else\r\n"
)


def _import(project, *, start: bool, capture) -> ImportJob:
    upload = SimpleUploadedFile("tickets.csv", IMPORT_CSV.encode(), content_type="text/csv")
    job = imports.import_job_upload(project=project, upload=upload)
    if start:
        imports.import_job_start(
            job=job,
            mapping={
                "text": "Description",
                "created_at": "Created",
                "external_id": "Ticket ID",
                "customer_ref": "Customer",
            },
        )
        # After commit, a finished import deletes its upload (as in production).
        with capture(execute=True):
            imports.import_job_run(job_id=job.id, task_id="import")
    job.refresh_from_db()
    return job


@pytest.fixture
def planted(db, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks) -> Planted:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Follow-up tasks of new feedback are not needed here (the run places every item).
    monkeypatch.setattr("feedback.ingest.feedback_followups_publish", lambda ids: None)
    project = ProjectFactory()
    ClusteringSettings.objects.create(project=project, representation="lsa")
    start = timezone.now() - timedelta(days=3)
    world = Planted(project=project, their_requests=_ingest(project, start))
    world.import_done = _import(project, start=True, capture=django_capture_on_commit_callbacks)
    world.import_draft = _import(project, start=False, capture=django_capture_on_commit_callbacks)
    assert not world.import_done.file
    assert world.import_done.status == ImportJob.Status.SUCCEEDED
    assert world.import_done.rows_rejected == 1

    run, _ = clustering_run_request(project=project)
    assert clustering_run_execute(run_id=run.id, task_id="run") == "succeeded"
    world.their_feedback = list(
        Feedback.objects.filter(project=project, prediction__request_id__in=world.their_requests)
        .values_list("id", flat=True)
        .union(
            Feedback.objects.filter(project=project, text__icontains="quixeltrap").values_list(
                "id", flat=True
            )
        )
    )
    ItemVector.objects.bulk_create(
        ItemVector(
            feedback_id=feedback_id,
            model="test",
            text_hash="x",
            vector=np.ones(4, np.float32).tobytes(),
        )
        for feedback_id in world.their_feedback
    )
    # The category the run made of their items, renamed by a person quoting them.
    world.category = next(
        c
        for c in ErrorCategory.objects.filter(project=project)
        if "zorbliquant" in " ".join(c.keywords) or "zorbliquant" in c.title.lower()
    )
    category_rename(category=world.category, title="Zorbliquant jams", actor=None)
    for format in ("csv", "jsonl"):
        export = export_request(project=project, format=format)
        export_build(export_id=export.id, task_id=f"export-{format}")
        export.refresh_from_db()
        assert export.status == DatasetExport.Status.SUCCEEDED
        world.exports.append(export)
    return world
