"""Celery entry points of the lifecycle app: thin wrappers around its services."""

from celery import shared_task

from . import retention


@shared_task(name="lifecycle.retention_sweep")
def retention_sweep() -> None:
    """Delete predictions past their project's retention (beat, every 5 minutes); a sweep
    stops after its time budget and the next one goes on. Idempotent."""
    retention.retention_sweep()
