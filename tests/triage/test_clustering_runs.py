"""Clustering runs on the database: request, claim, results, identity, humans win, sweeping."""

from datetime import timedelta

import pytest
from django.utils import timezone
from sklearn.metrics import adjusted_rand_score

from core.jobs import MAX_ATTEMPTS
from core.models import AuditEvent
from feedback.ingest import feedback_ingest
from feedback.models import Feedback
from triage.models import (
    CategoryLineage,
    CategorySnapshot,
    ClusteringRun,
    ClusteringSettings,
    ErrorCategory,
    ItemAssignment,
)
from triage.services import categories as humans
from triage.services.clustering import (
    clustering_run_execute,
    clustering_run_request,
    clustering_runs_sweep,
)
from triage.services.followup import feedback_process

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def light_representation(replay_project):
    """The LSA representation keeps these tests fast; embeddings have their own tests."""
    ClusteringSettings.objects.create(project=replay_project, representation="lsa")


def run_now(project, task_id="t-1"):
    run, _ = clustering_run_request(project=project)
    status = clustering_run_execute(run_id=run.id, task_id=task_id)
    run.refresh_from_db()
    assert status == "succeeded", run.error
    return run


def category_of(feedback_id):
    return ItemAssignment.objects.get(feedback_id=feedback_id).category


def test_a_second_request_returns_the_active_run(replay_project):
    first, created = clustering_run_request(project=replay_project)
    second, created_again = clustering_run_request(project=replay_project)

    assert (created, created_again) == (True, False)
    assert second.id == first.id


def test_a_run_whose_worker_is_alive_is_not_taken_by_another_message(replay_project):
    run, _ = clustering_run_request(project=replay_project)
    ClusteringRun.objects.filter(id=run.id).update(
        status="running", task_id="owner", heartbeat_at=timezone.now(), attempts=1
    )

    # The same message delivered twice (visibility timeout while the worker is alive) too.
    assert clustering_run_execute(run_id=run.id, task_id="intruder") == "busy"
    assert clustering_run_execute(run_id=run.id, task_id="owner") == "busy"
    run.refresh_from_db()
    assert (run.status, run.task_id, run.attempts) == ("running", "owner", 1)
    assert not ErrorCategory.objects.exists()


def test_a_run_turns_the_replays_feedback_into_categories(replay_project):
    run = run_now(replay_project)

    error_items = Feedback.objects.filter(project=replay_project).exclude(kind="rating", rating=1)
    assert run.n_items == error_items.count()
    assert 40 <= run.n_categories <= 200
    assert run.n_noise <= 0.05 * run.n_items
    assert ItemAssignment.objects.filter(run=run).count() == run.n_items
    categories = ErrorCategory.objects.filter(project=replay_project, is_unsorted=False)
    assert all(c.state == "new" and c.title and c.keywords for c in categories)
    assert sum(c.size for c in ErrorCategory.objects.filter(project=replay_project)) == run.n_items
    assert CategorySnapshot.objects.filter(run=run).count() == ErrorCategory.objects.count()
    assert run.model_state and run.representation == "lsa"
    big = categories.order_by("-size").first()
    assert big.top_confusions and big.representative_ids
    assert Feedback.objects.filter(triage_state="categorized").count() >= run.n_items - run.n_noise


def test_re_running_keeps_every_categorys_identity(replay_project):
    first = run_now(replay_project)
    before = dict(ErrorCategory.objects.values_list("id", "size"))

    second = run_now(replay_project, task_id="t-2")

    assert dict(ErrorCategory.objects.values_list("id", "size")) == before
    assert second.n_categories == first.n_categories
    assert not CategoryLineage.objects.exists()


def test_a_small_change_in_the_feedback_reshuffles_almost_nothing(replay_project):
    first = run_now(replay_project)
    before = dict(ItemAssignment.objects.values_list("feedback", "category"))
    for feedback in Feedback.objects.filter(kind="complaint").order_by("id")[:3]:
        humans.item_mark_not_error(feedback=feedback, actor=None)

    later = run_now(replay_project, task_id="t-2")

    after = dict(ItemAssignment.objects.filter(run=later).values_list("feedback", "category"))
    common = sorted(set(before) & set(after))
    assert adjusted_rand_score([before[i] for i in common], [after[i] for i in common]) > 0.97
    assert ErrorCategory.objects.filter(created_run=later).count() <= 0.03 * first.n_categories


def test_new_feedback_joins_the_nearest_category_between_runs(replay_project):
    run_now(replay_project)
    category = ErrorCategory.objects.filter(is_unsorted=False).order_by("-size").first()
    example = Feedback.objects.get(id=category.representative_ids[0])
    text = example.text or example.prediction.input_text

    result = feedback_ingest(project=replay_project, items=[{"kind": "complaint", "text": text}])
    feedback_process(feedback_ids=[result.inserted[0][0]])

    assert category_of(result.inserted[0][0]) == category
    assert Feedback.objects.get(id=result.inserted[0][0]).triage_state == "categorized"


def test_unrelated_new_feedback_waits_for_the_next_run(replay_project):
    run_now(replay_project)

    result = feedback_ingest(
        project=replay_project, items=[{"kind": "complaint", "text": "zebra giraffe volcano"}]
    )
    feedback_process(feedback_ids=[result.inserted[0][0]])

    assignment = ItemAssignment.objects.get(feedback_id=result.inserted[0][0])
    assert assignment.category is None


def test_human_edits_survive_the_next_run(replay_project, django_user_model):
    run_now(replay_project)
    reviewer = django_user_model.objects.create(username="rev")
    categories = list(ErrorCategory.objects.filter(is_unsorted=False).order_by("-size"))
    renamed, source, target, split_from, mover = categories[:5]
    humans.category_rename(category=renamed, title="Identity checks", actor=reviewer)
    humans.category_merge(source=source, target=target, actor=reviewer)
    merged_items = set(
        ItemAssignment.objects.filter(category=target).values_list("feedback", flat=True)
    )
    split_items = list(
        ItemAssignment.objects.filter(category=split_from).values_list("feedback", flat=True)
    )[:2]
    child = humans.category_split(category=split_from, feedback_ids=split_items, actor=reviewer)
    moved = ItemAssignment.objects.filter(category=mover).values_list("feedback", flat=True)[0]
    humans.items_move(project=replay_project, feedback_ids=[moved], target=renamed, actor=reviewer)
    dismissed = Feedback.objects.get(
        id=ItemAssignment.objects.filter(category=mover).values_list("feedback", flat=True)[0]
    )
    humans.item_mark_not_error(feedback=dismissed, actor=reviewer)

    later = run_now(replay_project, task_id="t-2")

    renamed.refresh_from_db()
    assert renamed.title == "Identity checks" and renamed.title_locked
    source.refresh_from_db()
    assert source.merged_into == target
    # Merged stay merged: the run does not pull the two apart again (an unpinned item at the
    # margin may still drift to a neighbour, as any item may between runs).
    places = [category_of(i).id for i in merged_items]
    assert places.count(target.id) >= 0.9 * len(places)
    assert {category_of(i).id for i in split_items} == {child.id}
    assert category_of(moved) == renamed
    assert category_of(dismissed.id) is None
    assert not ItemAssignment.objects.filter(feedback=dismissed, run=later).exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "rename", "merge", "split", "move_items", "mark_not_error",
    }  # fmt: skip


def test_a_failing_run_records_its_error_and_releases_the_lock(replay_project, monkeypatch):
    def explode(*args, **kwargs):
        raise ValueError("the engine broke")

    monkeypatch.setattr("triage.services.clustering.cluster_feedback", explode)
    run, _ = clustering_run_request(project=replay_project)

    assert clustering_run_execute(run_id=run.id, task_id="t") == "failed"

    run.refresh_from_db()
    assert run.status == "failed" and "the engine broke" in run.error
    assert not ErrorCategory.objects.exists() and not ItemAssignment.objects.exists()
    assert clustering_run_request(project=replay_project)[1] is True


def test_the_sweeper_requeues_a_run_whose_worker_died(replay_project, settings):
    run, _ = clustering_run_request(project=replay_project)
    stale = timezone.now() - timedelta(seconds=settings.VOC_JOB_STALE_SECONDS + 5)
    ClusteringRun.objects.filter(id=run.id).update(
        status="running", task_id="dead", heartbeat_at=stale, attempts=1
    )

    assert clustering_runs_sweep().requeued == 1

    run.refresh_from_db()
    assert (run.status, run.task_id) == ("queued", "")
    assert clustering_run_execute(run_id=run.id, task_id="fresh") == "succeeded"


def test_the_sweeper_gives_up_after_the_last_attempt(replay_project, settings):
    run, _ = clustering_run_request(project=replay_project)
    stale = timezone.now() - timedelta(seconds=settings.VOC_JOB_STALE_SECONDS + 5)
    ClusteringRun.objects.filter(id=run.id).update(
        status="running", task_id="dead", heartbeat_at=stale, attempts=MAX_ATTEMPTS
    )

    assert clustering_runs_sweep().failed == 1

    run.refresh_from_db()
    assert run.status == "failed" and "giving up" in run.error


def test_a_message_takes_back_a_run_whose_heartbeat_went_stale(replay_project, settings):
    run, _ = clustering_run_request(project=replay_project)
    stale = timezone.now() - timedelta(seconds=settings.VOC_JOB_STALE_SECONDS + 5)
    ClusteringRun.objects.filter(id=run.id).update(
        status="running", task_id="same", heartbeat_at=stale, attempts=1
    )

    assert clustering_run_execute(run_id=run.id, task_id="same") == "succeeded"
    run.refresh_from_db()
    assert run.attempts == 2


def test_granularity_biases_the_number_of_categories(replay_project):
    settings_row = ClusteringSettings.objects.get(project=replay_project)
    settings_row.granularity = -2
    settings_row.save()
    fewer = run_now(replay_project).n_categories
    settings_row.granularity = 2
    settings_row.save()

    more = run_now(replay_project, task_id="t-2").n_categories

    assert fewer < more
