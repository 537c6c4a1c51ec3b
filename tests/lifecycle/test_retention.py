"""Retention of the prediction log: what goes, what stays, and the quality figures of old
periods unchanged through the sweep and any later recount."""

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from dashboards.models import MetricRollup, MetricRollupDay, MetricRollupWeek
from dashboards.services.rollups import hour_floor, rollup_pass, rollup_rebuild
from feedback import validation
from feedback.ingest import feedback_ingest
from feedback.models import ApiKey, Feedback, Prediction
from feedback.services import api_key_create
from lifecycle.retention import retention_sweep
from tests.factories import FeedbackFactory, PredictionFactory, ProjectFactory

pytestmark = pytest.mark.django_db

NOW = hour_floor(timezone.now())
OLD = NOW - timedelta(days=40, hours=5)  # past a 30-day retention
RECENT = NOW - timedelta(days=3)


@pytest.fixture
def project():
    return ProjectFactory(slug="kept", prediction_retention_days=30)


@pytest.fixture
def traffic(project):
    """Old and recent predictions, some of the old ones with each kind of feedback, counted
    by the rollups (two passes: the cursor counts an id range as done on the second look)."""
    old = [
        PredictionFactory(project=project, served_at=OLD + timedelta(minutes=i), latency_ms=40.0 + i)
        for i in range(12)
    ]  # fmt: skip
    recent = [PredictionFactory(project=project, served_at=RECENT) for _ in range(3)]
    FeedbackFactory(prediction=old[0], kind="correction", corrected_label="card_not_working")
    FeedbackFactory(prediction=old[1], kind="complaint", text="late again", corrected_label="")
    FeedbackFactory(prediction=old[2], kind="rating", rating=-1, corrected_label="")
    rollup_pass()
    rollup_pass()
    return {"old": old, "recent": recent}


def figures(project) -> list:
    """Every rollup row of the project (hour, day and week), as the quality pages read them."""
    fields = ["model_version_id", "predictions", "feedback_predictions", "corrections",
              "complaints", "ratings_up", "ratings_down", "label_counts", "corrected_pairs",
              "confidence_predictions", "confidence_corrections", "latency_sketch",
              "latency_count", "latency_sum_ms", "peak_per_second"]  # fmt: skip
    return [
        list(model.objects.filter(project=project).order_by(span).values(span, *fields))
        for model, span in ((MetricRollup, "hour"), (MetricRollupDay, "day"), (MetricRollupWeek, "week"))
    ]  # fmt: skip


def metrics_api(client, project) -> dict:
    _, key = api_key_create(project=project, scopes=[ApiKey.Scope.READ])
    response = client.get(
        f"/api/v1/projects/{project.slug}/metrics",
        {"bucket": "day", "since": (OLD - timedelta(days=2)).isoformat(), "until": NOW.isoformat()},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200
    return response.json()


def test_old_predictions_without_feedback_go_and_everything_else_stays(project, traffic):
    result = retention_sweep(now=NOW)

    with_feedback = {p.id for p in traffic["old"][:3]}
    assert result.deleted == 9
    assert set(Prediction.objects.filter(project=project, served_at__lt=RECENT).values_list("id", flat=True)) == with_feedback  # fmt: skip
    assert Prediction.objects.filter(project=project, served_at=RECENT).count() == 3
    assert Feedback.objects.filter(project=project).count() == 3
    assert retention_sweep(now=NOW).deleted == 0  # idempotent


def test_the_quality_figures_of_old_periods_are_unchanged_by_the_sweep_and_any_recount(
    client, project, traffic
):
    before, api_before = figures(project), metrics_api(client, project)

    retention_sweep(now=NOW)
    assert figures(project) == before
    rollup_rebuild(project=project)  # every hour recounted from what is left
    rollup_pass()

    assert figures(project) == before
    assert metrics_api(client, project) == api_before
    assert before[0][0]["predictions"] == 12  # the old hour: twelve served, three kept


def test_late_feedback_on_a_kept_old_prediction_still_counts(project, traffic):
    retention_sweep(now=NOW)
    hour = hour_floor(OLD)
    old_row = MetricRollup.objects.get(project=project, hour=hour)

    FeedbackFactory(prediction=traffic["old"][1], kind="rating", rating=1, corrected_label="")
    rollup_pass()
    rollup_pass()

    row = MetricRollup.objects.get(project=project, hour=hour)
    assert row.ratings_up == old_row.ratings_up + 1
    assert row.predictions == old_row.predictions == 12
    assert row.label_counts == old_row.label_counts


def test_nothing_the_rollups_have_not_counted_is_deleted(project):
    PredictionFactory.create_batch(4, project=project, served_at=OLD)

    assert retention_sweep(now=NOW).deleted == 0  # no pass yet
    rollup_pass()  # counted once: the second look has not happened
    assert retention_sweep(now=NOW).deleted == 0
    rollup_pass()
    assert retention_sweep(now=NOW).deleted == 4


def test_an_old_hour_still_waiting_for_its_recount_is_left_alone(project, traffic):
    late = PredictionFactory(project=project, served_at=OLD - timedelta(days=1))
    rollup_pass()  # marks the late prediction's hour dirty and recounts it ...
    rollup_rebuild(project=project, since=OLD - timedelta(days=2), until=OLD)  # ... dirty again

    retention_sweep(now=NOW)

    assert Prediction.objects.filter(id=late.id).exists()
    assert Prediction.objects.filter(id__in=[p.id for p in traffic["old"][3:]]).count() == 9


def test_a_project_without_retention_keeps_everything(traffic):
    forever = ProjectFactory(slug="forever", prediction_retention_days=None)
    PredictionFactory.create_batch(3, project=forever, served_at=OLD)
    rollup_pass()
    rollup_pass()

    retention_sweep(now=NOW)

    assert Prediction.objects.filter(project=forever).count() == 3


def test_the_sweep_stops_at_its_time_budget_and_the_next_goes_on(project, traffic):
    first = retention_sweep(now=NOW, batch=2, time_budget=0)

    assert first.finished is False and first.deleted == 0
    second = retention_sweep(now=NOW, batch=2)
    assert second.finished is True and second.deleted == 9 and second.batches == 5


@pytest.mark.django_db(transaction=True)
def test_feedback_committed_while_its_batch_deletes_keeps_its_prediction(project, traffic):
    """Ingest holds the prediction's row until the feedback commits: the batch that comes for
    it waits, then finds the feedback before its own commit, and the retried batch leaves it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    target = traffic["old"][5]
    inserted, release = threading.Event(), threading.Event()

    def late_feedback():
        try:
            with transaction.atomic():  # the commit comes once the sweep is waiting
                items = [{"kind": "complaint", "request_id": target.request_id, "text": "late"}]
                assert feedback_ingest(project=project, items=items).accepted == 1
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=late_feedback)
    writer.start()
    assert inserted.wait(10)
    threading.Timer(1.0, release.set).start()  # commit while the sweep waits on the row
    result = retention_sweep(now=NOW)
    writer.join()

    assert Prediction.objects.filter(id=target.id).exists()
    assert Feedback.objects.filter(prediction=target).count() == 1
    assert result.deleted == 8  # the nine old ones without feedback, but for the late one


@pytest.mark.django_db(transaction=True)
def test_feedback_for_a_prediction_being_deleted_waits_for_the_delete_and_is_refused(
    project, traffic
):
    """The other order: the sweep has deleted the prediction but not committed; ingest waits
    on the row, then sees it gone and refuses the item. No feedback points at nothing."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    target = traffic["old"][6]
    results = {}

    def late_feedback():
        try:
            items = [{"kind": "complaint", "request_id": target.request_id, "text": "late"}]
            results["ingest"] = feedback_ingest(project=project, items=items)
        finally:
            connection.close()

    writer = threading.Thread(target=late_feedback)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM feedback_prediction WHERE id = %s", [target.id])
        writer.start()
        writer.join(1.0)
        assert writer.is_alive()  # waiting on the deleted, uncommitted row
    writer.join(10)

    assert results["ingest"].accepted == 0
    assert [r["errors"] for r in results["ingest"].rejected] == [
        {"request_id": [validation.UNKNOWN_PREDICTION]}
    ]
    assert not Feedback.objects.filter(prediction_id=target.id).exists()


@pytest.mark.django_db(transaction=True)
def test_feedback_about_a_prediction_deleted_meanwhile_is_refused_by_index(project, traffic):
    from django.db import connection

    target = traffic["old"][6]
    Prediction.objects.filter(id=target.id).delete()  # as a sweep just did
    items = [{"kind": "complaint", "text": "fine"},
             {"kind": "complaint", "request_id": target.request_id, "text": "late"}]  # fmt: skip

    result = feedback_ingest(project=project, items=items)

    assert result.accepted == 1 and connection.vendor in ("postgresql", "sqlite")
    assert [(r["index"], r["errors"]) for r in result.rejected] == [
        (1, {"request_id": [validation.UNKNOWN_PREDICTION]})
    ]


def test_a_reviewers_label_keeps_its_prediction_and_a_queue_entry_does_not(project, traffic):
    from tests.factories import ErrorCategoryFactory
    from triage.models import ReviewerLabel, ReviewQueueEntry

    labelled, queued = traffic["old"][3], traffic["old"][4]
    ReviewerLabel.objects.create(
        project=project, prediction=labelled, reviewer="mina", label="card_arrival"
    )
    category = ErrorCategoryFactory(project=project)
    ReviewQueueEntry.objects.create(
        project=project, category=category, prediction=queued, score=0.9,
        similarity=0.5, uncertainty=0.5, label_affinity=1.0,
    )  # fmt: skip

    result = retention_sweep(now=NOW)

    assert result.deleted == 8
    assert Prediction.objects.filter(id=labelled.id).exists()
    assert not Prediction.objects.filter(id=queued.id).exists()
