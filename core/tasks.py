"""Celery entry points of the core app."""

from celery import shared_task

from . import periodic


@shared_task(name="core.periodic")
def periodic_run(task_name: str, seconds: float) -> None:
    """What every beat entry sends: start `task_name` once per period (core/periodic.py)."""
    periodic.periodic_run(task_name=task_name, seconds=seconds)
