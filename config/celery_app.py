import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("voc_triage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def publish(task_name: str, *args) -> bool:
    """Send a task by name without ever blocking or failing the caller.

    Used from request handlers after commit: when the broker is down the work is not lost,
    because every job has a periodic sweeper that finds what was left undone in the database.
    Returns whether the message reached the broker.
    """
    try:
        app.send_task(task_name, args=args, retry=False)
    except Exception:  # the broker is outside our control; any failure means "not sent"
        logger.warning("could not publish %s; the sweeper will pick it up", task_name)
        return False
    return True
