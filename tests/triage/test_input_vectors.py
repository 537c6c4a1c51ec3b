"""Sentence embeddings of prediction inputs for the review queue (triage/services/
input_vectors.py): the background pass embeds the distinct inputs of new predictions once,
within its time budget (a counted sample when it cannot keep up), and one pass at a time."""

import os
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from feedback.ingest import prediction_ingest
from feedback.models import Prediction
from tests.factories import ProjectFactory
from triage import tasks
from triage.clustering.representations import embeddings_available
from triage.models import ClusteringSettings, ErrorCategory, InputVector, InputVectorProgress
from triage.services import input_vectors
from triage.services.input_vectors import input_vectors_fill, input_vectors_lookup
from triage.services.review_queue import review_queue_vectors_schedule
from triage.services.vectors import text_hash

pytestmark = pytest.mark.django_db


@pytest.fixture
def embedding_project():
    if not embeddings_available():
        if os.environ.get("VOC_REQUIRE_SERVICES") == "true":
            pytest.fail("the embeddings extra must be installed in CI")
        pytest.skip("needs the embeddings extra (make setup-embeddings)")
    project = ProjectFactory()
    ClusteringSettings.objects.create(project=project, representation="embeddings")
    return project


def ingest(project, texts: list[str], start: int = 0) -> None:
    result = prediction_ingest(
        project=project,
        items=[
            {
                "request_id": f"r-{start + i}",
                "model_version": "v1",
                "input_text": text,
                "predicted_label": "card_arrival",
                "confidence": 0.7,
            }
            for i, text in enumerate(texts)
        ],
    )
    assert not result.rejected
    # Settled: a pass reads only predictions received a little while ago.
    Prediction.objects.filter(project=project).update(
        received_at=timezone.now() - 2 * input_vectors.SETTLE
    )


def test_the_task_embeds_a_new_predictions_input_once(embedding_project):
    project = embedding_project
    ingest(project, ["where is my new card", "where is my new card", "my card was declined"])

    tasks.input_vectors_fill(project.id)

    stored = InputVector.objects.filter(project=project)
    assert stored.count() == 2  # a repeated input is embedded once
    vector = np.frombuffer(
        bytes(stored.get(text_hash=text_hash("where is my new card")).vector), dtype=np.float32
    )
    assert vector.shape == (384,) and np.linalg.norm(vector) == pytest.approx(1, abs=1e-4)
    progress = InputVectorProgress.objects.get(project=project)
    assert (progress.embedded, progress.skipped_inputs, progress.leased_until) == (2, 0, None)

    # The next pass reads only what is new, and an input seen before costs nothing.
    ingest(project, ["where is my new card", "how do I top up"], start=10)
    result = input_vectors_fill(project=project)
    assert (result.read, result.distinct_new, result.embedded) == (2, 1, 1)
    assert input_vectors_fill(project=project).read == 0
    vectors, have = input_vectors_lookup(
        project=project, texts=["how do I top up", "never seen", "where is my new card"]
    )
    assert have.tolist() == [True, False, True] and not vectors[1].any()


def test_a_pass_out_of_time_embeds_the_most_repeated_then_a_sample_and_counts_the_rest(
    embedding_project, monkeypatch
):
    project = embedding_project
    monkeypatch.setattr(input_vectors, "EMBED_BATCH", 2)
    texts = ["card lost", "card lost", "card lost", "top up failed", "top up failed"]
    ingest(project, texts + [f"question number {n}" for n in range(6)])
    ticks = iter([0.0, 1.0, 99.0])  # time for one batch, then the budget is spent

    result = input_vectors_fill(project=project, budget=10, clock=lambda: next(ticks))

    assert (result.distinct_new, result.embedded, result.skipped_inputs) == (8, 2, 6)
    assert set(InputVector.objects.values_list("text_hash", flat=True)) == {
        text_hash("card lost"),
        text_hash("top up failed"),
    }
    progress = InputVectorProgress.objects.get(project=project)
    assert (progress.embedded, progress.skipped_inputs) == (2, 6)
    # What was left out is not read again; it gets its chance when it comes back.
    assert input_vectors_fill(project=project).read == 0
    ingest(project, ["question number 3"], start=50)
    assert input_vectors_fill(project=project).embedded == 1


def test_one_pass_at_a_time_and_only_for_projects_ranking_on_embeddings(
    embedding_project, monkeypatch
):
    project = embedding_project
    ingest(project, ["where is my new card"])
    InputVectorProgress.objects.create(
        project=project, leased_until=timezone.now() + timedelta(seconds=30)
    )
    assert input_vectors_fill(project=project).busy
    assert not InputVector.objects.exists()

    published = []
    monkeypatch.setattr(
        "triage.services.review_queue.publish", lambda *args: published.append(args) or True
    )
    light = ProjectFactory()
    ClusteringSettings.objects.create(project=light, representation="lsa")
    for each in (project, light):
        ErrorCategory.objects.create(project=each, title="cards")
    assert review_queue_vectors_schedule() == 1
    assert published == [("triage.input_vectors_fill", project.id)]
    assert tasks.input_vectors_fill(light.id) is None  # nothing for the light representation


def test_vectors_older_than_the_queues_window_are_pruned_hourly_unless_used(
    embedding_project, monkeypatch
):
    project = embedding_project
    monkeypatch.setattr(input_vectors, "READ_MAX", 2)
    ingest(project, ["old one", "recent one", "newest one"])
    Prediction.objects.filter(project=project, input_text="old one").update(
        received_at=timezone.now() - timedelta(days=10)
    )  # the window (the newest 2) begins with "recent one"
    now = timezone.now()
    for text, age in (("gone", 5), ("kept", 0.5), ("an error, used", 9)):
        InputVector.objects.create(
            project=project,
            model="m",
            text_hash=text_hash(text),
            vector=b"",
            used_at=now - timedelta(days=age),
        )
    InputVectorProgress.objects.create(project=project, last_prediction_id=10**9, pruned_at=now)

    assert input_vectors_fill(project=project).pruned == 0  # pruned less than an hour ago
    InputVectorProgress.objects.filter(project=project).update(
        pruned_at=now - input_vectors.PRUNE_EVERY
    )
    monkeypatch.setattr(input_vectors, "embedding_model", lambda: "m")
    input_vectors_lookup(project=project, texts=["an error, used"], compute_missing=True)

    assert input_vectors_fill(project=project).pruned == 1
    assert set(InputVector.objects.values_list("text_hash", flat=True)) == {
        text_hash("kept"),
        text_hash("an error, used"),
    }


def test_an_erasure_deletes_the_vectors_of_the_customers_inputs(project):
    from lifecycle.records import Customer, vectors_delete

    for text in ("my card number is 4242", "where is my new card"):
        InputVector.objects.create(
            project=project, model="m", text_hash=text_hash(text), vector=b"\0" * 8
        )
    other = ProjectFactory()
    InputVector.objects.create(
        project=other, model="m", text_hash=text_hash("my card number is 4242"), vector=b""
    )
    customer = Customer(project=project, customer_hash="h", texts=["my card number is 4242"])

    assert vectors_delete(customer=customer) == 1
    assert list(
        InputVector.objects.filter(project=project).values_list("text_hash", flat=True)
    ) == [text_hash("where is my new card")]
    assert InputVector.objects.filter(project=other).count() == 1


def test_beat_asks_every_minute_and_passes_run_on_the_quick_queue(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["review-queue-vectors"]
    assert entry["args"][0] == "triage.input_vectors_schedule" and entry["schedule"] == 60.0
    assert "triage.input_vectors_fill" not in settings.CELERY_TASK_ROUTES
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "quick"
    assert tasks.input_vectors_fill.soft_time_limit > input_vectors.TIME_BUDGET
    assert input_vectors.LEASE.total_seconds() > tasks.input_vectors_fill.time_limit
