# One entry point for people and CI. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup setup-embeddings run serve test test-sqlite lint format bench soak backup restore clean

setup: $(STAMP)  ## create .venv and install the app with its dev tools

$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e clients/python
	touch $(STAMP)

setup-embeddings: $(VENV)/.embeddings  ## optional: sentence embeddings for clustering (CPU torch)

$(VENV)/.embeddings: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,embeddings]'
	touch $@

run: setup  ## SQLite + embedded broker, Banking77 demo, web + worker + beat
	scripts/run.sh --demo

serve: setup  ## web + a worker per queue + beat for the current settings (no demo load)
	scripts/run.sh

test: setup-embeddings  ## the whole suite on real PostgreSQL and Redis (started if needed), then SQLite
	scripts/test.sh

test-sqlite: setup  ## only the embedded default's tests (no PostgreSQL/Redis: says what it skips)
	scripts/test.sh --sqlite-only

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup-embeddings  ## benchmarks on PostgreSQL (started if needed); figures go to BENCHMARKS.md
	scripts/bench.sh

soak: setup  ## 30 minutes of the realistic mix on PostgreSQL, Redis, gunicorn, a worker, beat (RELIABILITY.md)
	BENCHMARKS=soak scripts/bench.sh

backup: setup  ## database (pg_dump -Fc, or SQLite's online backup) + media folder + manifest, under backups/
	$(PY) manage.py backup --to $(or $(TO),backups)

restore: setup  ## FROM=backups/voc-backup-...: into the configured database and media folder, both empty
	@test -n "$(FROM)" || { echo "usage: make restore FROM=backups/voc-backup-<time>"; exit 2; }
	$(PY) manage.py restore "$(FROM)"

clean:
	rm -rf .data .tmp
