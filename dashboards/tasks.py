"""Celery entry points of the dashboards app: thin wrappers around services."""

from celery import shared_task

from .services import rollups


@shared_task(name="dashboards.rollup")
def rollup() -> None:
    """One incremental rollup pass (beat, every minute); a pass already running makes this a
    no-op, and hours left undone stay marked for the next one."""
    rollups.rollup_pass()
