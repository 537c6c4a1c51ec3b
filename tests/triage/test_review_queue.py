"""The review queue's refresh on the clustered Banking77 replay: each live category gets its
best unreported predictions, stored with why they were chosen, and the queue finds wrong
answers nobody reported far more often than picking unreported predictions at random, and
suggests the right label from the nearest corrected errors."""

import hashlib
import os

import numpy as np
import pytest

from feedback.models import Prediction
from triage.clustering.representations import embeddings_available
from triage.models import ClusteringSettings, ErrorCategory, InputVector, ReviewQueueEntry
from triage.selectors_review_queue import suggested_labels
from triage.services.review_queue import QUEUE_PER_CATEGORY, review_queue_refresh
from triage.services.vectors import embedding_model, text_hash

pytestmark = pytest.mark.django_db


def wrong(replay, request_ids) -> list[bool]:
    rows = Prediction.objects.filter(request_id__in=request_ids).values_list(
        "request_id", "predicted_label"
    )
    return [replay.true_label[request_id] != label for request_id, label in rows]


def test_the_queue_holds_unreported_predictions_more_often_wrong_than_the_rest(clustered, replay):
    result = review_queue_refresh(project=clustered)

    entries = ReviewQueueEntry.objects.filter(project=clustered)
    assert result.entries == entries.count() > 0 and result.categories > 10
    assert entries.filter(prediction__feedback__isnull=False).count() == 0  # unreported only
    per_category = entries.values("category").distinct().count()
    assert per_category == result.categories
    assert all(
        0 <= e.similarity <= 1 and 0 <= e.uncertainty <= 1 and 0 <= e.label_affinity <= 1
        for e in entries[:500]
    )
    assert not entries.filter(category__state__in=["fixed", "wont_fix"]).exists()

    # Each category's 10 best, against every unreported prediction (only the test reads the
    # truth): the queue is right about a wrong answer far more often.
    top = set()
    for category_id in entries.values_list("category", flat=True).distinct():
        top.update(
            entries.filter(category_id=category_id)
            .order_by("-score")
            .values_list("prediction__request_id", flat=True)[:10]
        )
    unreported = Prediction.objects.filter(project=clustered, feedback__isnull=True)
    base_rate = (
        sum(wrong(replay, unreported.values_list("request_id", flat=True))) / unreported.count()
    )
    precision = sum(wrong(replay, top)) / len(top)
    assert precision >= 2 * base_rate, (precision, base_rate)


def test_a_refresh_replaces_the_queue_and_leaves_out_closed_categories(clustered):
    review_queue_refresh(project=clustered)
    first = set(ReviewQueueEntry.objects.values_list("category_id", "prediction_id"))
    review_queue_refresh(project=clustered)
    assert set(ReviewQueueEntry.objects.values_list("category_id", "prediction_id")) == first

    closed = ErrorCategory.objects.filter(id__in={c for c, _ in first}).first()
    ErrorCategory.objects.filter(id=closed.id).update(state="fixed")
    review_queue_refresh(project=clustered)

    second = set(ReviewQueueEntry.objects.values_list("category_id", "prediction_id"))
    assert {c for c, _ in second} == {c for c, _ in first} - {closed.id}
    sizes = ReviewQueueEntry.objects.values("category").distinct().count()
    assert ReviewQueueEntry.objects.count() <= sizes * QUEUE_PER_CATEGORY


def test_a_refresh_keeps_the_items_reviewers_have_open(clustered):
    from django.contrib.auth import get_user_model

    from triage.selectors_review_queue import review_queue_categories, review_queue_claim

    review_queue_refresh(project=clustered)
    ann = get_user_model().objects.create_user("ann")
    bob = get_user_model().objects.create_user("bob")
    held = review_queue_claim(project=clustered, user=ann)

    review_queue_refresh(project=clustered)

    again = review_queue_claim(project=clustered, user=ann)
    assert again.prediction_id == held.prediction_id
    assert review_queue_claim(project=clustered, user=bob).prediction_id != held.prediction_id
    titles = [c.title for c in review_queue_categories(project=clustered)]
    assert len(titles) == ReviewQueueEntry.objects.values("category").distinct().count()
    assert titles == sorted(titles)


def test_the_task_refreshes_and_beat_and_the_heavy_queue_know_it(clustered, settings):
    from triage import tasks

    tasks.review_queue_refresh(clustered.id)
    tasks.review_queue_refresh(10**9)  # a project deleted meanwhile: nothing to do

    assert ReviewQueueEntry.objects.filter(project=clustered).exists()
    entry = settings.CELERY_BEAT_SCHEDULE["review-queue-refresh"]
    assert entry["args"][0] == "triage.review_queue_schedule" and entry["schedule"] == 3600.0
    assert settings.CELERY_TASK_ROUTES["triage.review_queue_refresh"] == {"queue": "heavy"}


def test_entries_keep_the_labels_of_their_nearest_corrected_errors(clustered, replay):
    review_queue_refresh(project=clustered)

    entries = list(
        ReviewQueueEntry.objects.filter(project=clustered).select_related("prediction", "category")
    )
    labels = set(clustered.labels)
    assert sum(bool(e.neighbour_labels) for e in entries) > 0.9 * len(entries)
    assert all(
        set(e.neighbour_labels) <= labels
        and e.prediction.predicted_label not in e.neighbour_labels
        and len(set(e.neighbour_labels)) == len(e.neighbour_labels) <= 5
        for e in entries
    )
    # On the wrong answers the queue holds (only the test reads the truth), the first
    # suggestion is the right label far more often with the neighbours than from the
    # category's confusions alone (measured: 24 % against 2.5 %; one of five: 48 %).
    wrong = [
        e for e in entries
        if replay.true_label[e.prediction.request_id] != e.prediction.predicted_label
    ]  # fmt: skip

    def hits(n: int, *, neighbours: bool = True) -> int:
        return sum(
            replay.true_label[e.prediction.request_id]
            in suggested_labels(
                e.category, e.prediction.predicted_label, e.neighbour_labels if neighbours else ()
            )[:n]
            for e in wrong
        )

    first, alone = hits(1), hits(1, neighbours=False)
    assert first >= max(3 * alone, 0.15 * len(wrong)), (first, alone, len(wrong))
    assert hits(5) >= 0.35 * len(wrong)


def test_suggestions_put_the_neighbours_first_where_the_confusions_agree():
    category = ErrorCategory(
        top_confusions=[
            {"predicted": "balance", "corrected": "top_up", "count": 9},
            {"predicted": "card_arrival", "corrected": "lost_card", "count": 5},
            {"predicted": "balance", "corrected": "refund", "count": 2},
        ]
    )

    # Alone: the confusions from the predicted label, most often first, then the others.
    assert suggested_labels(category, "balance") == ["top_up", "refund", "lost_card"]
    # The neighbours come first, the one the category's confusions agree with ahead; each
    # label once, never the predicted one, five at most.
    found = suggested_labels(
        category, "balance", ["pin", "refund", "balance", "exchange", "x", "y"]
    )
    assert found == ["refund", "pin", "exchange", "x", "y"]
    assert suggested_labels(category, "balance", ["top_up"]) == ["top_up", "refund", "lost_card"]


def stand_in_vector(text: str) -> bytes:
    """A unit vector drawn from the text's hash: stands in for its sentence embedding."""
    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest())
    vector = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return (vector / np.linalg.norm(vector)).tobytes()


def test_with_sentence_embeddings_it_ranks_the_inputs_that_have_a_stored_vector(clustered):
    if not embeddings_available():
        if os.environ.get("VOC_REQUIRE_SERVICES") == "true":
            pytest.fail("the embeddings extra must be installed in CI")
        pytest.skip("needs the embeddings extra (make setup-embeddings)")
    ClusteringSettings.objects.filter(project=clustered).update(representation="embeddings")
    predictions = Prediction.objects.filter(project=clustered)
    errors = set(predictions.filter(feedback__isnull=False).values_list("input_text", flat=True))
    unreported = sorted(
        set(predictions.filter(feedback__isnull=True).values_list("input_text", flat=True)),
        key=text_hash,
    )  # a uniform sample by hash, as the background pass leaves one
    embedded = unreported[: int(0.7 * len(unreported))]
    model = embedding_model()
    InputVector.objects.bulk_create(
        InputVector(project=clustered, model=model, text_hash=text_hash(t), vector=stand_in_vector(t))
        for t in errors | set(embedded)
    )  # fmt: skip

    result = review_queue_refresh(project=clustered)

    assert result.representation == "embeddings" and result.entries > 0
    queued = set(
        ReviewQueueEntry.objects.filter(project=clustered).values_list(
            "prediction__input_text", flat=True
        )
    )
    have = set(embedded)
    assert queued <= have  # no vector, not ranked (an LSA cosine would not compare)
    candidates = predictions.filter(feedback__isnull=True).values_list("input_text", flat=True)
    assert result.without_vector == sum(1 for t in candidates if t not in have) > 0

    # Fewer than half embedded (just turned on, a long outage): LSA ranks them all.
    InputVector.objects.filter(
        text_hash__in=[text_hash(t) for t in embedded[: int(0.4 * len(unreported))]]
    ).delete()
    result = review_queue_refresh(project=clustered)
    assert (result.representation, result.without_vector) == ("lsa", 0)
    assert ReviewQueueEntry.objects.filter(project=clustered).count() == result.entries > 0
