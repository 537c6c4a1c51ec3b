"""Celery entry points of the triage app: thin wrappers around services."""

from celery import shared_task

from .services import clustering, followup

# Clustering is CPU-heavy and may embed thousands of new items: its own, longer limits
# (CELERY_BROKER_TRANSPORT_OPTIONS' visibility timeout stays above them).
CLUSTERING_SOFT_LIMIT = 1500
CLUSTERING_HARD_LIMIT = 1800


@shared_task(name="triage.feedback_process", max_retries=3, default_retry_delay=10)
def feedback_process(feedback_ids: list[int]) -> None:
    """Embed new feedback and place it; idempotent, so redelivery is harmless."""
    followup.feedback_process(feedback_ids=feedback_ids)


@shared_task(name="triage.followup_sweep")
def followup_sweep() -> None:
    """Find feedback whose follow-up was never done (lost message, broker down) and redo it."""
    followup.followup_sweep()


@shared_task(
    bind=True,
    name="triage.clustering_run",
    soft_time_limit=CLUSTERING_SOFT_LIMIT,
    time_limit=CLUSTERING_HARD_LIMIT,
)
def clustering_run(self, run_id: int) -> None:
    """Claim and execute a clustering run; a second delivery of the run is skipped."""
    clustering.clustering_run_execute(run_id=run_id, task_id=self.request.id or "")


@shared_task(name="triage.clustering_schedule")
def clustering_schedule() -> None:
    """The weekly re-clustering of every project (beat)."""
    clustering.clustering_runs_schedule()


@shared_task(name="triage.clustering_sweep")
def clustering_sweep() -> None:
    """Requeue or fail runs whose worker died; republish runs whose message was lost."""
    clustering.clustering_runs_sweep()
