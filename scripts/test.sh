#!/usr/bin/env bash
# The whole test suite. Starts PostgreSQL and Redis on loopback when DATABASE_URL/REDIS_URL
# are not given, runs the suite on them, then the SQLite-specific tests, then stops what it
# started. A service that cannot be provided is a failure, never a skip: a green run always
# means the real servers were tested. `scripts/test.sh --sqlite-only` (make test-sqlite) runs
# the embedded default's tests alone, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"

sqlite_only=0
if [ "${1:-}" = "--sqlite-only" ]; then sqlite_only=1; shift; fi

[ "$sqlite_only" = 1 ] || scripts/system-deps.sh || true

started=0
cleanup() { [ "$started" = 1 ] && scripts/services.sh stop; }
trap cleanup EXIT
if [ "$sqlite_only" = 1 ]; then
  echo "Only the SQLite tests (make test-sqlite): PostgreSQL, Redis and the worker paths are NOT tested." >&2
  unset DATABASE_URL REDIS_URL
elif [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  given_db=${DATABASE_URL:-}
  given_redis=${REDIS_URL:-}
  if env_lines=$(scripts/services.sh start); then
    started=1
    eval "$env_lines"
    [ -n "$given_db" ] && export DATABASE_URL=$given_db
    [ -n "$given_redis" ] && export REDIS_URL=$given_redis
  else
    echo "Could not start PostgreSQL/Redis (see scripts/services.sh); failing." >&2
    echo "Set DATABASE_URL and REDIS_URL to servers you run, or 'make test-sqlite' for the embedded default alone." >&2
    exit 1
  fi
fi
# The suite on the real servers fails rather than skips what needs them.
if [ "$sqlite_only" = 1 ]; then export VOC_REQUIRE_SERVICES=false; else export VOC_REQUIRE_SERVICES=true; fi
# Tests keep their broker folders, cache and SQLite files apart from `make run`'s .data/.
export VOC_DATA_DIR=$PWD/.tmp/test-data
rm -rf "$VOC_DATA_DIR"

echo "== lint"
ruff check .
ruff format --check .
echo "== bandit: no high-severity findings"
bandit -q -r config core feedback triage dashboards lifecycle --severity-level high
echo "== migrations are up to date"
env -u DATABASE_URL -u REDIS_URL python manage.py makemigrations --check --dry-run >/dev/null

if [ -n "${DATABASE_URL:-}" ]; then
  echo "== suite on PostgreSQL ($DATABASE_URL) and Redis ($REDIS_URL)"
  python -m pytest -m "not sqlite" --durations=20 "$@"
fi
echo "== SQLite-specific tests (the embedded default)"
env -u DATABASE_URL -u REDIS_URL VOC_SQLITE_RUN=1 python -m pytest -m sqlite "$@"
