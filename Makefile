# The two commands a newcomer needs: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench chaos bench-scale restore-drill install install-dev clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs come from the hashed lock files (pip --require-hashes). When a requirement was added
# without `make lock`, the lock no longer agrees: say so and install the plain pins instead, so a
# fresh checkout still runs (the test suite fails on the disagreement until `make lock` is run).
$(VENV)/.installed: $(BIN)/python requirements.txt requirements.lock
	@if $(BIN)/python scripts/lock_check.py requirements.txt; then \
	  $(BIN)/pip install --quiet --require-hashes -r requirements.lock; \
	else \
	  echo "make: requirements.lock is out of date (run make lock); installing requirements.txt"; \
	  $(BIN)/pip install --quiet -r requirements.txt; \
	fi
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt requirements-dev.lock
	@if $(BIN)/python scripts/lock_check.py requirements-dev.txt; then \
	  $(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock; \
	else \
	  echo "make: requirements-dev.lock is out of date (run make lock); installing requirements-dev.txt"; \
	  $(BIN)/pip install --quiet -r requirements-dev.txt; \
	fi
	touch $@

## make lock: regenerate requirements.lock / requirements-dev.lock (hashed, pip-tools) from
## requirements*.txt. Keeps every pin the lock already has (no upgrades); ~10 s when cached.
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(BIN)/python
	@$(BIN)/python -c "import piptools" 2>/dev/null || $(BIN)/pip install --quiet pip-tools==7.6.2
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --output-file requirements-dev.lock requirements-dev.txt

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: the whole site on embedded defaults (SQLite, filesystem broker, simulator).
run: install
	@bash scripts/dev.sh

## make test: the test suite (SQLite by default; DATABASE_URL/REDIS_URL switch on the rest).
test: install-dev
	$(BIN)/pytest

## make bench: SPEC §12 load benchmark on loopback (PostgreSQL when DATABASE_URL is set, else
## SQLite); non-zero exit only for a broken invariant or stack. BENCH_ARGS="--help": the knobs.
bench: install-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## make bench-scale: seeds PostgreSQL (DATABASE_URL's name + _scale) with years of history and
## times the hot operations at 10k and 1M orders. BENCH_SCALE_ARGS="--help": the knobs.
bench-scale: install-dev
	$(BIN)/python -m bench.scale $(BENCH_SCALE_ARGS)

## make restore-drill: pg_dump -Fc a seeded PostgreSQL database (DATABASE_URL's server), restore it
## into a fresh one and check tables, migrations and invariants there (docs/operations.md).
## RESTORE_ARGS="--source-url postgres://.../staging" drills an existing database instead.
restore-drill: install-dev
	$(BIN)/python -m bench.restore_drill $(RESTORE_ARGS)

## make chaos: bounded crash test on PostgreSQL + Redis (kill -9 of web and Celery workers, a
## Redis restart) under checkouts, payments and duplicate webhooks, then the crash invariants;
## non-zero exit on a broken one. CHAOS_ARGS="--short": the ~1 minute CI version.
chaos: install-dev
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

clean:
	rm -rf var/celery var/mail var/whatsapp
