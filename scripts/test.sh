#!/usr/bin/env bash
# The whole test suite. Starts PostgreSQL and Redis on loopback when DATABASE_URL/REDIS_URL
# are not given, runs the suite on them, then the SQLite-specific tests, then stops what it
# started. With CI=true a service that cannot be provided is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"

scripts/system-deps.sh || true

started=0
cleanup() { [ "$started" = 1 ] && scripts/services.sh stop; }
trap cleanup EXIT
if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  given_db=${DATABASE_URL:-}
  given_redis=${REDIS_URL:-}
  if env_lines=$(scripts/services.sh start); then
    started=1
    eval "$env_lines"
    [ -n "$given_db" ] && export DATABASE_URL=$given_db
    [ -n "$given_redis" ] && export REDIS_URL=$given_redis
  elif [ "${CI:-}" = true ]; then
    echo "CI: could not start PostgreSQL/Redis; failing." >&2
    exit 1
  else
    echo "PostgreSQL/Redis unavailable: running only the SQLite tests." >&2
    unset DATABASE_URL REDIS_URL
  fi
fi
export VOC_REQUIRE_SERVICES=${CI:-false}
# Tests keep their broker folders, cache and SQLite files apart from `make run`'s .data/.
export VOC_DATA_DIR=$PWD/.tmp/test-data
rm -rf "$VOC_DATA_DIR"

echo "== lint"
ruff check .
ruff format --check .
echo "== bandit: no high-severity findings"
bandit -q -r config feedback triage dashboards --severity-level high
echo "== migrations are up to date"
env -u DATABASE_URL -u REDIS_URL python manage.py makemigrations --check --dry-run >/dev/null

if [ -n "${DATABASE_URL:-}" ]; then
  echo "== suite on PostgreSQL ($DATABASE_URL) and Redis ($REDIS_URL)"
  python -m pytest -m "not sqlite" "$@"
fi
echo "== SQLite-specific tests (the embedded default)"
env -u DATABASE_URL -u REDIS_URL VOC_SQLITE_RUN=1 python -m pytest -m sqlite "$@"
