"""The review queue's refresh on the clustered Banking77 replay: each live category gets its
best unreported predictions, stored with why they were chosen, and the queue finds wrong
answers nobody reported far more often than picking unreported predictions at random."""

import pytest

from feedback.models import Prediction
from triage.models import ErrorCategory, ReviewQueueEntry
from triage.services.review_queue import QUEUE_PER_CATEGORY, review_queue_refresh

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


def test_the_task_refreshes_and_beat_and_the_heavy_queue_know_it(clustered, settings):
    from triage import tasks

    tasks.review_queue_refresh(clustered.id)
    tasks.review_queue_refresh(10**9)  # a project deleted meanwhile: nothing to do

    assert ReviewQueueEntry.objects.filter(project=clustered).exists()
    entry = settings.CELERY_BEAT_SCHEDULE["review-queue-refresh"]
    assert entry["args"][0] == "triage.review_queue_schedule" and entry["schedule"] == 3600.0
    assert settings.CELERY_TASK_ROUTES["triage.review_queue_refresh"] == {"queue": "heavy"}
