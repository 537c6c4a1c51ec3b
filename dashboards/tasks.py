"""Celery entry points of the dashboards app: thin wrappers around services."""

from celery import shared_task

from .services import alerts, rollups


@shared_task(name="dashboards.rollup")
def rollup() -> None:
    """One incremental rollup pass (beat, every minute); a pass already running makes this a
    no-op, and hours left undone stay marked for the next one."""
    rollups.rollup_pass()


@shared_task(name="dashboards.alerts_evaluate")
def alerts_evaluate() -> None:
    """Evaluate every enabled alert rule on the rollups, open/resolve events and send what
    notifications are owed (beat, every 5 minutes). Idempotent: a second run changes nothing."""
    alerts.alerts_evaluate()
