"""Celery entry points of the feedback app: thin wrappers around services."""

from celery import shared_task

from . import imports


# A big file is imported across as many runs as it takes: at the soft limit the job goes back
# to the queue and the next run resumes after its last committed batch. Both limits stay under
# the broker's visibility timeout (CELERY_LONGEST_TASK_SECONDS).
@shared_task(bind=True, name="feedback.import_run", soft_time_limit=1800, time_limit=1900)
def import_run(self, job_id: int) -> None:
    """Import one CSV job; idempotent (a job already claimed or finished is left alone)."""
    imports.import_job_run(job_id=job_id, task_id=self.request.id or "")


@shared_task(name="feedback.import_sweep")
def import_sweep() -> None:
    """Resume imports whose worker or message was lost."""
    imports.import_jobs_sweep()
