"""A category's estimated true size: the unreported look-alikes of its errors times the share
of its reviewed queue found wrong, kept on the category, shown, and sortable on the board."""

import numpy as np
import pytest

from tests.helpers import login
from triage.models import ErrorCategory, ReviewQueueEntry
from triage.review_queue.true_size import MIN_REVIEWED, lookalike_level, true_size
from triage.selectors import board_categories
from triage.services.review_queue import review_queue_refresh
from triage.services.reviewer_labels import reviewer_label_undo, reviewer_labels_add


def unit(rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_lookalike_level_is_how_close_the_errors_are_to_each_other():
    tight = unit([[1, 0.01, 0], [1, 0.02, 0], [1, 0, 0.01]])
    loose = unit([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])

    assert lookalike_level(tight, neighbours=3) > 0.99
    assert lookalike_level(loose, neighbours=1) == pytest.approx(np.sqrt(0.5), abs=1e-6)
    assert lookalike_level(unit([[1, 0, 0]]), neighbours=3) == 1.0  # one error: nothing like it


def test_the_estimate_waits_for_enough_verdicts_and_brackets_itself():
    assert (
        true_size(lookalikes=400, scanned=9000, reviewed=MIN_REVIEWED - 1, found=3).estimate is None
    )

    size = true_size(lookalikes=400, scanned=9000, reviewed=20, found=5)

    assert size.estimate == 100.0
    assert 0 < size.low < 100 < size.high < 400
    assert true_size(lookalikes=400, scanned=9000, reviewed=20, found=0).low == 0


@pytest.mark.django_db
def test_verdicts_on_a_categorys_queue_estimate_its_size_and_the_board_sorts_by_it(
    clustered, client
):
    review_queue_refresh(project=clustered)
    live = ErrorCategory.objects.filter(project=clustered, true_size__scanned__gt=0)
    assert live.exists() and not live.filter(estimated_unreported__isnull=False).exists()
    category = (
        ErrorCategory.objects.filter(id__in=ReviewQueueEntry.objects.values("category_id"))
        .order_by("-true_size__lookalikes")
        .first()
    )
    entries = list(
        ReviewQueueEntry.objects.filter(category=category)
        .select_related("prediction")
        .order_by("-score")[:MIN_REVIEWED]
    )
    # Two wrong answers, the rest right, from the category's queue.
    items = [
        {
            "request_id": e.prediction.request_id,
            "reviewer": "rita",
            "label": e.prediction.predicted_label if i >= 2 else "zz_other",
        }
        for i, e in enumerate(entries)
    ]
    clustered.labels = sorted({*(clustered.labels or []), "zz_other"})
    clustered.save(update_fields=["labels"])
    result = reviewer_labels_add(project=clustered, items=items, category=category)
    assert result.accepted == MIN_REVIEWED, result.rejected

    category.refresh_from_db()
    size = category.true_size
    assert (size["reviewed"], size["found"]) == (MIN_REVIEWED, 2)
    assert category.estimated_unreported == pytest.approx(size["lookalikes"] * 2 / MIN_REVIEWED)
    assert list(board_categories(project=clustered, sort="estimated"))[0] == category

    login(client, clustered, "viewer")
    page = client.get(f"/p/{clustered.slug}/categories/{category.id}/").content.decode()
    assert "wrong answers like these nobody reported" in page
    board = client.get(f"/p/{clustered.slug}/board/", {"sort": "estimated"}).content.decode()
    assert "unreported like it" in board

    review_queue_refresh(project=clustered)  # the reviewed leave the queue; the counts stay
    category.refresh_from_db()
    assert (category.true_size["reviewed"], category.true_size["found"]) == (MIN_REVIEWED, 2)


@pytest.mark.django_db
def test_an_undo_takes_the_verdict_out_of_the_estimate(clustered, client):
    review_queue_refresh(project=clustered)
    user = login(client, clustered, "reviewer")
    entry = ReviewQueueEntry.objects.select_related("prediction").order_by("-score").first()
    reviewer_labels_add(
        project=clustered,
        items=[
            {
                "request_id": entry.prediction.request_id,
                "reviewer": user.get_username(),
                "label": "",
            }
        ],
        category=entry.category,
    )
    skipped = ErrorCategory.objects.get(id=entry.category_id).true_size
    assert skipped["reviewed"] == 0  # a skip is no verdict on the label

    reviewer_label_undo(project=clustered, user=user)

    assert ErrorCategory.objects.get(id=entry.category_id).true_size["reviewed"] == 0
