"""Celery entry points of the triage app: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(name="triage.feedback_process", max_retries=3, default_retry_delay=10)
def feedback_process(feedback_ids: list[int]) -> None:
    """Derived work on new feedback; idempotent, so redelivery is harmless."""
    services.feedback_process(feedback_ids=feedback_ids)


@shared_task(name="triage.followup_sweep")
def followup_sweep() -> None:
    """Find feedback whose follow-up was never done (lost message, broker down) and redo it."""
    services.followup_sweep()
