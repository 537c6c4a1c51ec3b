"""/healthz: is this instance able to serve? Checks the database and the Celery broker.

The status (200/503) depends on those two only, so a load balancer never takes a web server
out because a worker is down; `details` tells an operator what the background side is doing:
the representation clustering runs use, the latest run, and when beat and a worker last
completed a rollup pass (scheduled every minute by beat, done by a worker).
"""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery_app import app

logger = logging.getLogger(__name__)
BROKER_TIMEOUT = 2  # seconds: a load balancer's probe must not hang on a dead broker


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure means "not healthy"; the reason goes to the log
        logger.warning("health check: database unreachable", exc_info=True)
        return False


def _broker() -> bool:
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
            conn.default_channel  # noqa: B018 - opening a channel proves the broker answers
        return True
    except Exception:
        logger.warning("health check: broker unreachable", exc_info=True)
        return False


def _details() -> dict:
    """Operators' view of the background side; no customer data, a few indexed reads."""
    from dashboards.selectors import rollup_last_pass
    from triage.selectors import clustering_status

    try:
        return {"clustering": clustering_status(), "rollup_last_pass": rollup_last_pass()}
    except Exception:  # details never turn a healthy answer into an error
        logger.warning("health check: details unavailable", exc_info=True)
        return {}


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _database(), "broker": _broker()}
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable",
         **{name: "ok" if ok else "unreachable" for name, ok in checks.items()},
         "details": _details() if checks["database"] else {}},
        status=200 if healthy else 503,
    )  # fmt: skip
