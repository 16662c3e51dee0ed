# Fanbase: `make run` starts everything with demo data; `make test` runs the suite.
# Only Python >= 3.11 and make are needed; everything else installs into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
PYTEST_ARGS ?=
TEST_WORKERS ?= 2
# `make run` is a laptop demo: DEBUG is on (a dev-only SECRET_KEY, no HTTPS
# redirect) unless DEBUG is set in the environment.
RUN_ENV := DEBUG=$${DEBUG-1}

SCALE ?= default
BENCH_ARGS ?=

.PHONY: install run test bench soak lint clean fuzz audit

install: $(STAMP)

# Reinstalls when pyproject.toml changes. A venv left half-made (no pip) is rebuilt.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Fanbase needs Python >= 3.11; run make with PYTHON=python3.11 (or newer).")'
	@test -x $(BIN)/pip || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); } || { rm -rf $(VENV); \
		echo "Could not create $(VENV) with $(PYTHON) -m venv (on Debian/Ubuntu: apt install python3-venv)." >&2; exit 1; }
	@echo "Installing Fanbase and its dependencies into $(VENV) ..."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The whole service on the embedded defaults: SQLite, Celery over the filesystem
# broker under var/, web + worker + beat under honcho. Ctrl-C stops all three.
# The demo logins and API keys are printed before the servers start and kept in
# var/demo.txt (each run issues fresh demo API keys).
# Web, worker and beat share their Prometheus figures through one folder, emptied at
# each start: a scrape of http://127.0.0.1:$(PORT)/metrics shows all three.
run: install
	@rm -rf var/prometheus && mkdir -p var/prometheus
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(RUN_ENV) $(BIN)/python manage.py seed_demo --base-url http://127.0.0.1:$(PORT) > var/demo.txt
	@cat var/demo.txt
	@echo "Starting web, worker and beat on http://127.0.0.1:$(PORT)/ (Ctrl-C stops them; logins are in var/demo.txt)."
	@$(RUN_ENV) PROMETHEUS_MULTIPROC_DIR="$(CURDIR)/var/prometheus" PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(BIN)/honcho start -f Procfile -p $(PORT)

# pytest exits 5 when it collected no test: that fails here like any other failure.
# TEST_WORKERS pytest-xdist processes share the suite (each with its own test database,
# var folder, cache and broker keys: tests/settings.py); TEST_WORKERS=0 runs it in one.
test: install
	@$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests." >&2; fi; \
	exit $$status

# Benchmarks on PostgreSQL (127.0.0.1:5432, or the server DATABASE_URL names) in the
# harness's own database `fanbase_bench`, dropped and rebuilt on each run. SCALE is
# default (1M shoppers), small (under 2 minutes) or tiny (seconds, CI smoke test).
# Results: benchmarks/results/latest.json; BENCH_ARGS="--compare FILE" prints the change.
bench: install
	$(BIN)/python -m benchmarks --scale $(SCALE) $(BENCH_ARGS)

# The schema fuzz, longer than in `make test` (FUZZ_EXAMPLES requests per operation,
# mode and caller, 10 there; STATEFUL_EXAMPLES linked scenarios, 15 there).
# On SQLite unless DATABASE_URL is set.
FUZZ_EXAMPLES ?= 200
STATEFUL_EXAMPLES ?= 100
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) STATEFUL_EXAMPLES=$(STATEFUL_EXAMPLES) $(BIN)/pytest -q -n 2 -p no:randomly tests/fuzz $(PYTEST_ARGS)

# Known vulnerabilities of the installed dependencies (pip-audit; .ci/audit.py).
audit: install
	$(BIN)/python .ci/audit.py

# Load with invariants (benchmarks/soak.py): 50 clients for 60 s mixing orders, replays,
# refunds, coupon validations and exchanges, joins, follows and reads on gunicorn, then
# every ledger invariant checked. Its own database `fanbase_soak` on the PostgreSQL of
# DATABASE_URL (127.0.0.1:5432 by default), dropped and rebuilt. Fails on any 5xx.
SOAK_ARGS ?= --clients 50 --seconds 60
soak: install
	$(BIN)/python -m benchmarks.soak $(SOAK_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm
