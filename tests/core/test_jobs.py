"""core.jobs: the one lifecycle of every background job, tested once on a real job model."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.jobs import (
    MAX_ATTEMPTS,
    Claim,
    JobHeartbeat,
    JobLost,
    job_claim,
    job_finish,
    job_progress,
    job_requeue,
    jobs_sweep,
)
from triage.models import DatasetExport

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    sent = []
    monkeypatch.setattr("core.jobs.publish", lambda name, *args: sent.append((name, *args)))
    return sent


@pytest.fixture
def job(project):
    return DatasetExport.objects.create(project=project, number=1, format="csv")


def stale_time(settings):
    return timezone.now() - timedelta(seconds=settings.VOC_JOB_STALE_SECONDS + 5)


def test_one_message_claims_a_queued_job_and_a_duplicate_is_refused(job):
    assert job_claim(DatasetExport, job.id, "first") is Claim.TAKEN
    assert job_claim(DatasetExport, job.id, "second") is Claim.BUSY
    assert job_claim(DatasetExport, job.id, "first") is Claim.BUSY  # redelivered, owner alive

    job.refresh_from_db()
    assert (job.status, job.task_id, job.attempts) == ("running", "first", 1)


def test_a_stale_job_is_taken_back_and_its_old_worker_can_no_longer_write(job, settings):
    job_claim(DatasetExport, job.id, "first")
    old = DatasetExport.objects.get(id=job.id)
    DatasetExport.objects.filter(id=job.id).update(heartbeat_at=stale_time(settings))

    assert job_claim(DatasetExport, job.id, "second") is Claim.TAKEN

    with pytest.raises(JobLost):
        job_progress(old, items_done=5)
    with pytest.raises(JobLost):
        job_finish(old, "succeeded")
    job.refresh_from_db()
    assert (job.status, job.task_id, job.attempts, job.items_done) == ("running", "second", 2, 0)


def test_a_job_that_kills_every_worker_is_given_up_at_the_claim(job, settings):
    DatasetExport.objects.filter(id=job.id).update(
        status="running", attempts=MAX_ATTEMPTS, heartbeat_at=stale_time(settings)
    )

    assert job_claim(DatasetExport, job.id, "again") is Claim.NOTHING

    job.refresh_from_db()
    assert job.status == "failed" and f"after {MAX_ATTEMPTS} attempts" in job.error


def test_a_finished_job_is_left_alone(job):
    job_claim(DatasetExport, job.id, "first")
    job_finish(DatasetExport.objects.get(id=job.id), "succeeded", row_count=3)

    assert job_claim(DatasetExport, job.id, "late") is Claim.NOTHING
    job.refresh_from_db()
    assert (job.status, job.row_count) == ("succeeded", 3) and job.finished_at


def test_the_sweep_requeues_lost_work_and_gives_up_after_the_last_attempt(
    project, settings, published
):
    lost, hopeless, alive = (
        DatasetExport.objects.create(project=project, number=n, format="csv") for n in (1, 2, 3)
    )
    DatasetExport.objects.filter(id=lost.id).update(
        status="running", attempts=1, task_id="dead", heartbeat_at=stale_time(settings)
    )
    DatasetExport.objects.filter(id=hopeless.id).update(
        status="running", attempts=MAX_ATTEMPTS, heartbeat_at=stale_time(settings)
    )
    DatasetExport.objects.filter(id=alive.id).update(
        status="running", attempts=1, heartbeat_at=timezone.now()
    )
    given_up = []

    counts = jobs_sweep(DatasetExport, on_give_up=given_up.append)

    assert (counts.requeued, counts.failed, counts.republished) == (1, 1, 0)
    assert published == [("triage.export_build", lost.id)]
    assert given_up == [hopeless.id]
    states = dict(DatasetExport.objects.values_list("id", "status"))
    assert states == {lost.id: "queued", hopeless.id: "failed", alive.id: "running"}
    assert DatasetExport.objects.get(id=lost.id).task_id == ""


def test_the_sweep_republishes_a_lost_message_once_per_interval(job, settings, published):
    waited = timedelta(seconds=settings.VOC_JOB_REPUBLISH_SECONDS + 5)
    DatasetExport.objects.filter(id=job.id).update(queued_at=timezone.now() - waited)

    assert jobs_sweep(DatasetExport).republished == 1
    assert jobs_sweep(DatasetExport).republished == 0  # not a copy every minute
    assert published == [("triage.export_build", job.id)]


def test_a_job_handed_back_on_purpose_keeps_its_attempts(job, published):
    job_claim(DatasetExport, job.id, "first")

    assert job_requeue(DatasetExport.objects.get(id=job.id))

    job.refresh_from_db()
    assert (job.status, job.attempts, job.task_id) == ("queued", 0, "")
    assert published == [("triage.export_build", job.id)]


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_beats_while_the_worker_computes(job, settings):
    settings.VOC_JOB_HEARTBEAT_SECONDS = 0.05
    job_claim(DatasetExport, job.id, "first")
    claimed = DatasetExport.objects.get(id=job.id)

    with JobHeartbeat(claimed):
        deadline = timezone.now() + timedelta(seconds=10)
        while DatasetExport.objects.get(id=job.id).heartbeat_at == claimed.heartbeat_at:
            assert timezone.now() < deadline, "no heartbeat"

    assert DatasetExport.objects.get(id=job.id).heartbeat_at > claimed.heartbeat_at
