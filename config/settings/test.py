"""The test suite: fast hashing, in-memory mail. DATABASE_URL/REDIS_URL come from `make test`."""

import os

from .base import *  # noqa: F403
from .base import DATA_DIR, DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if "EMAIL_URL" not in os.environ:  # a worker started by a test may be given a file backend
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False
ALLOWED_HOSTS = ["*"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the Celery worker started by the tests must see the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

# Test runs share one Redis: keep each run's cache entries (rate-limit counters) apart.
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"  # noqa: F405

# Many tests present wrong keys from 127.0.0.1 within a minute; the throttle has its own tests.
VOC_API_AUTH_FAILURES = 100_000
