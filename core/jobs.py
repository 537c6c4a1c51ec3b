"""One lifecycle for every background job: clustering runs, dataset exports, CSV imports, and
each job added after them.

    QUEUED --claim--> RUNNING --finish--> SUCCEEDED | FAILED
      ^                  |
      +-----sweep--------+  (heartbeat stale: the worker is gone; up to MAX_ATTEMPTS claims)

The database row is the truth and Celery only carries "look at job N". Every change of state
is a conditional UPDATE, so two messages for the same job (a redelivery, a republish by the
sweeper) can never both work on it:

- `job_claim` takes a QUEUED job, or takes back a RUNNING one whose heartbeat is stale. A job
  whose worker is alive keeps beating and cannot be taken; a duplicate message is refused.
- While it works, the claiming worker beats (`JobHeartbeat`, and every progress save through
  `job_progress`); each write checks the job is still its own and raises `JobLost` if not.
- `jobs_sweep` (beat, every minute) requeues RUNNING jobs whose heartbeat went stale, gives
  up on those that used their attempts, and publishes again QUEUED jobs nobody picked up.
"""

import enum
import logging
import threading
from datetime import timedelta
from typing import ClassVar, NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .publish import publish

logger = logging.getLogger(__name__)

# Claims of one job (the first run, then each worker lost) before it is failed for good.
MAX_ATTEMPTS = 3
# Internal errors are logged; the job says only this (no stack traces or customer text).
INTERNAL_ERROR = "The job stopped on an unexpected error; the details are in the server log."


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class BackgroundJob(models.Model):
    """The columns of the lifecycle; each job model adds what its work needs."""

    Status = JobStatus
    ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
    # The Celery task that works on one job, given its id.
    TASK_NAME: ClassVar[str] = ""
    # What the job says when it is given up ({attempts}: how many workers were lost).
    GAVE_UP: ClassVar[str] = "Stopped after {attempts} attempts: the worker died each time."

    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # The Celery message working on the job: progress writes of any other message are refused.
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)  # again after a requeue
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)


class Claim(enum.Enum):
    TAKEN = "taken"  # this message works on the job now
    BUSY = "busy"  # another worker has it and is alive: this message is a duplicate
    NOTHING = "nothing"  # finished, gone, or given up: nothing to do


class JobLost(Exception):
    """The job is no longer this worker's (the sweeper gave it to another): stop quietly."""


class SweepCounts(NamedTuple):
    requeued: int = 0
    failed: int = 0
    republished: int = 0

    @property
    def published(self) -> int:
        return self.requeued + self.republished


def stale_before():
    """A RUNNING job whose last heartbeat is older than this has lost its worker."""
    return timezone.now() - timedelta(seconds=settings.VOC_JOB_STALE_SECONDS)


def _owned(job: BackgroundJob):
    return type(job).objects.filter(id=job.id, status=JobStatus.RUNNING, task_id=job.task_id)


def job_claim(model: type[BackgroundJob], job_id: int, task_id: str) -> Claim:
    """QUEUED -> RUNNING for this message, or RUNNING with a stale heartbeat -> RUNNING for
    this message (its worker is gone). Each claim is an attempt; past MAX_ATTEMPTS the job is
    failed instead (a job that kills every worker must not loop forever)."""
    now = timezone.now()
    taken = (
        model.objects.filter(id=job_id)
        .filter(
            Q(status=JobStatus.QUEUED)
            | Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before())
        )
        .update(
            status=JobStatus.RUNNING,
            task_id=task_id[:64],
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
    )
    if taken:
        attempts = model.objects.filter(id=job_id).values_list("attempts", flat=True).get()
        if attempts <= MAX_ATTEMPTS:
            return Claim.TAKEN
        _give_up(model, job_id, attempts - 1, Q(task_id=task_id[:64]))
        return Claim.NOTHING
    status = model.objects.filter(id=job_id).values_list("status", flat=True).first()
    return Claim.BUSY if status == JobStatus.RUNNING else Claim.NOTHING


def job_progress(job: BackgroundJob, **fields) -> None:
    """Save progress and beat, if the job is still this worker's; else raise JobLost."""
    if not _owned(job).update(heartbeat_at=timezone.now(), **fields):
        raise JobLost()


def job_finish(job: BackgroundJob, status: str, **fields) -> None:
    """RUNNING -> SUCCEEDED/FAILED with the outcome's fields; JobLost if no longer ours."""
    now = timezone.now()
    if not _owned(job).update(status=status, finished_at=now, heartbeat_at=now, **fields):
        raise JobLost()


def job_fail(job: BackgroundJob, error: str = INTERNAL_ERROR) -> None:
    """RUNNING -> FAILED after an error; nothing happens if the job is no longer ours."""
    _owned(job).update(status=JobStatus.FAILED, finished_at=timezone.now(), error=error[:5000])


def job_requeue(job: BackgroundJob) -> bool:
    """Hand a RUNNING job back on purpose (its task reached the time limit; the job resumes
    where it stopped). It is not a lost worker, so it does not use up an attempt."""
    requeued = _owned(job).update(
        status=JobStatus.QUEUED,
        task_id="",
        queued_at=timezone.now(),
        attempts=F("attempts") - 1,
    )
    if requeued:
        publish(job.TASK_NAME, job.id)
    return bool(requeued)


def _give_up(model, job_id: int, attempts: int, still: Q) -> bool:
    return bool(
        model.objects.filter(still, id=job_id, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=model.GAVE_UP.format(attempts=attempts),
        )
    )


def jobs_sweep(model: type[BackgroundJob], on_give_up=None) -> SweepCounts:
    """Recover what lost workers and lost messages left behind (see the module's docstring).
    A duplicate message is harmless: only one claim succeeds. `on_give_up(job_id)` cleans up
    after a job failed for good (e.g. its partial files)."""
    now = timezone.now()
    stale = stale_before()
    requeued, failed = [], 0
    lost = model.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale)
    for job_id, attempts in list(lost.values_list("id", "attempts")):
        still_lost = Q(heartbeat_at__lt=stale)
        if attempts >= MAX_ATTEMPTS:
            if _give_up(model, job_id, attempts, still_lost):
                failed += 1
                if on_give_up is not None:
                    on_give_up(job_id)
        elif (
            model.objects.filter(still_lost, id=job_id, status=JobStatus.RUNNING).update(
                status=JobStatus.QUEUED, task_id="", queued_at=now
            )
            == 1
        ):
            requeued.append(job_id)
    # A message that never reached a worker (broker down at publish, broker restarted): send
    # it again, and wait as long again before the next copy.
    waiting_since = now - timedelta(seconds=settings.VOC_JOB_REPUBLISH_SECONDS)
    waiting = list(
        model.objects.filter(status=JobStatus.QUEUED, queued_at__lt=waiting_since).values_list(
            "id", flat=True
        )
    )
    model.objects.filter(id__in=waiting, status=JobStatus.QUEUED).update(queued_at=now)
    for job_id in sorted(set(requeued) | set(waiting)):
        publish(model.TASK_NAME, job_id)
    return SweepCounts(requeued=len(requeued), failed=failed, republished=len(waiting))


class JobHeartbeat(threading.Thread):
    """Beats for a claimed job while its worker computes something long that cannot report
    progress, so the sweeper can tell a slow job from a dead one.

        with JobHeartbeat(job):
            ...
    """

    def __init__(self, job: BackgroundJob):
        super().__init__(daemon=True)
        self.job, self.done = job, threading.Event()
        self.interval = settings.VOC_JOB_HEARTBEAT_SECONDS

    def run(self):
        try:
            while not self.done.wait(self.interval):
                try:
                    _owned(self.job).update(heartbeat_at=timezone.now())
                except DatabaseError:  # a busy SQLite file, a failover: beat again next time
                    logger.warning(
                        "heartbeat of %s %s missed", type(self.job).__name__, self.job.id
                    )
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.done.set()
        self.join(timeout=10)
        return False
