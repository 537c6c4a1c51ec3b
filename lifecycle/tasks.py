"""Celery entry points of the lifecycle app: thin wrappers around its services."""

from celery import shared_task

from . import erasure, retention

# An erasure reads the project's feedback once and recomputes its categories' descriptions:
# minutes on a large project. Both limits stay under the broker's visibility timeout.
ERASURE_SOFT_LIMIT = 1500
ERASURE_HARD_LIMIT = 1800


@shared_task(
    bind=True,
    name="lifecycle.erasure_run",
    soft_time_limit=ERASURE_SOFT_LIMIT,
    time_limit=ERASURE_HARD_LIMIT,
)
def erasure_run(self, erasure_id: int) -> None:
    """Claim and do one erasure; idempotent (a claimed or finished one is left alone)."""
    erasure.erasure_run(erasure_id=erasure_id, task_id=self.request.id or "")


@shared_task(name="lifecycle.erasure_sweep")
def erasure_sweep() -> None:
    """Requeue erasures whose worker died; republish those whose message was lost or that
    waited for the project's imports and exports."""
    erasure.erasures_sweep()


@shared_task(name="lifecycle.retention_sweep")
def retention_sweep() -> None:
    """Delete predictions past their project's retention (beat, every 5 minutes); a sweep
    stops after its time budget and the next one goes on. Idempotent."""
    retention.retention_sweep()
