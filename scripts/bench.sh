#!/usr/bin/env bash
# Runs the benchmarks on PostgreSQL (started on loopback unless DATABASE_URL is set) and
# prints their figures; BENCHMARKS.md records them with the machine they ran on.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
scripts/system-deps.sh || true
started=0
cleanup() { [ "$started" = 1 ] && scripts/services.sh stop; }
trap cleanup EXIT
if [ -z "${DATABASE_URL:-}" ]; then
  eval "$(scripts/services.sh start)"
  started=1
fi
mkdir -p benchmarks/results
for name in ${BENCHMARKS:-ingest client retention inbox csv_import clustering pages dashboards export reference queues connections capacity segments loop input_vectors}; do
  echo "== benchmarks/$name.py"
  python "benchmarks/$name.py" --json "benchmarks/results/$name.json"
done
