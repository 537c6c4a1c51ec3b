#!/usr/bin/env bash
# `make run` (with --demo) and `make serve`: migrate, optionally load the Banking77 demo, then
# run the web server, Celery workers and Celery beat together. Ctrl-C stops them all.
# Without DATABASE_URL/REDIS_URL this is SQLite and kombu's filesystem broker under .data/.
# VOC_RUN_CHECK=1: the same start, then scripts/check_demo.py checks web, login, worker and
# beat over HTTP, and everything stops (the fresh-clone test runs `make run` this way).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
HOST=${VOC_HOST:-127.0.0.1}
PORT=${VOC_PORT:-8000}
CHECK=${VOC_RUN_CHECK:-}
mkdir -p .data/broker/queue .data/broker/processed
started_at=$SECONDS
phase() { echo "[${1}: $((SECONDS - started_at))s]"; }

python manage.py migrate --noinput
phase migrated
if [ "${1:-}" = "--demo" ]; then
  echo "Loading the Banking77 demo (first time: about a minute)..."
  python manage.py load_demo
  # Rollups of the replay's history and an alert rule evaluated over it (its incident).
  python manage.py load_demo_alerts banking77
  # The worker clusters the demo's feedback as soon as it starts (a minute or so).
  python manage.py cluster banking77
  phase "demo loaded"
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

if [ "${1:-}" = "--demo" ]; then
  # One machine, one worker for both queues (each worker holds ~300 MB).
  celery -A config worker --loglevel WARNING --concurrency "${VOC_WORKER_CONCURRENCY:-2}" &
  pids+=($!)
else
  # A worker for each queue, as in production (README, "Configuration"): a long job on
  # `heavy` never delays the quick follow-ups of ingest.
  celery -A config worker -Q quick -n "quick@%h" --loglevel WARNING \
    --concurrency "${VOC_WORKER_CONCURRENCY:-2}" &
  pids+=($!)
  celery -A config worker -Q heavy -n "heavy@%h" --loglevel WARNING \
    --concurrency "${VOC_HEAVY_WORKER_CONCURRENCY:-1}" &
  pids+=($!)
fi
celery -A config beat --loglevel WARNING &
pids+=($!)
if [ "${DJANGO_SETTINGS_MODULE:-config.settings.local}" = config.settings.local ]; then
  python manage.py runserver --noreload "$HOST:$PORT" &
else
  python manage.py collectstatic --noinput >/dev/null
  gunicorn config.wsgi --bind "$HOST:$PORT" --workers "${VOC_WEB_WORKERS:-2}" &
fi
pids+=($!)
echo
echo "VoC Triage is up on http://$HOST:$PORT/  (Ctrl-C stops web, worker and beat)"
[ "${1:-}" = "--demo" ] && echo "Demo login: demo / demo"
if [ -n "$CHECK" ]; then
  python scripts/check_demo.py --url "http://$HOST:$PORT" --timeout "${VOC_RUN_CHECK_TIMEOUT:-600}"
  phase "checked"
  exit 0  # the EXIT trap stops web, worker and beat
fi
wait -n "${pids[@]}"
