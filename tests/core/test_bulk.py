"""core.bulk: batch writes that the ORM makes slow, on PostgreSQL and SQLite."""

import pytest
from django.db import connection
from django.utils import timezone

from core.bulk import upsert
from tests.factories import ErrorCategoryFactory, FeedbackFactory
from triage.models import ItemAssignment


def upsert_places(rows):
    upsert(
        ItemAssignment._meta.db_table,
        ["feedback_id", "category_id", "pinned", "similarity", "processed_at"],
        rows,
        conflict="feedback_id",
        update=["category_id", "similarity"],
    )


@pytest.mark.sqlite
@pytest.mark.django_db
def test_upsert_inserts_new_rows_and_updates_only_the_named_columns_of_existing_ones(project):
    first, second = (
        FeedbackFactory(project=project, prediction=None, kind="complaint", text=t) for t in "xy"
    )
    a, b = (ErrorCategoryFactory(project=project, title=t) for t in "ab")
    ItemAssignment.objects.create(feedback=first, category=a, pinned=True, similarity=0.5)
    now = timezone.now()

    upsert_places([(first.id, b.id, False, 0.9, now), (second.id, a.id, False, 0.7, now)])
    upsert_places([])  # nothing to write is not an error

    rows = {r.feedback_id: r for r in ItemAssignment.objects.all()}
    assert (rows[first.id].category_id, rows[first.id].similarity) == (b.id, 0.9)
    assert rows[first.id].pinned, "a column not named in `update` keeps its value"
    assert (rows[second.id].category_id, rows[second.id].pinned) == (a.id, False)
    assert ItemAssignment.objects.count() == 2, connection.vendor
