"""Sending a background task from a request without ever failing the request."""

import logging
import threading
import time

from celery import current_app
from django.conf import settings

logger = logging.getLogger(__name__)

_broker_down_until = 0.0
_lock = threading.Lock()


def publish(task_name: str, *args) -> bool:
    """Send a task by name without ever failing the caller, and without waiting on a broker
    known to be down.

    Used from request handlers after commit: when the broker is down the work is not lost,
    because every job has a periodic sweeper that finds what was left undone in the database.
    Returns whether the message reached the broker.
    """
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    try:
        current_app.send_task(task_name, args=args, retry=False)
    except Exception:  # the broker is outside our control; any failure means "not sent"
        with _lock:
            _broker_down_until = time.monotonic() + settings.VOC_BROKER_COOLDOWN_SECONDS
        logger.warning("could not publish %s; the sweeper will pick it up", task_name)
        return False
    return True


def broker_cooldown_reset() -> None:
    """Forget a past failure (the health check and tests call this once the broker is back)."""
    global _broker_down_until
    _broker_down_until = 0.0
