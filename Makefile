# Two commands: `make run` and `make test`. Both set up what they need first.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# A marker expression narrowing `make test`: MARKERS="not e2e" skips the browser tests.
MARKERS ?=
# The unit and fault tests run on this many processes (pytest-xdist); `auto` is one per core.
TEST_JOBS ?= auto
# The Procfile's processes `make run` starts; add `mail` for the SMTP/LMTP receiver (docs/email.md).
PROCESSES ?= web worker scheduler

BENCH_STAMP := $(VENV)/.bench-stamp
BENCHMARKS ?= post deliveries ack_latency stream_fanout

.PHONY: run test bench preflight lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	@touch $(BENCH_STAMP)

preflight: $(STAMP)
	@$(PY) -m eventplatform.preflight

run: export DEBUG ?= 1
run: preflight
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Event Platform on http://127.0.0.1:8000  (admin: /admin/, API docs: /api/docs/)"
	@echo "  Log in as customer, agent, instructor, learner or admin; the password is 'demo'."
	@echo "  Ctrl-C stops the web server and the workers."
	@echo ""
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start --procfile Procfile --port 8000 $(PROCESSES)

# Three parts, each its own run: the unit tests, then the fault tests, both in parallel; then
# the browser tests, one at a time. A fault test starts a stack of its own and stops only what
# is its own (a private Redis, its processes); a browser test's stack lives as long as its run,
# and would take a fault test's tasks from the queue they share. A part that PYTEST_ARGS or
# MARKERS leaves empty (pytest's exit status 5) is no failure.
only = $(if $(MARKERS), and ($(MARKERS)))
test: preflight
	$(PY) -m pytest -n $(TEST_JOBS) -m "not e2e and not reliability$(only)" $(PYTEST_ARGS) \
		|| [ $$? -eq 5 ]
	$(PY) -m pytest -n $(TEST_JOBS) -m "reliability$(only)" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(PY) -m pytest -m "e2e$(only)" $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Not part of `make test`: each benchmark starts what it measures on loopback, runs it beside
# its baseline and rewrites its section of docs/benchmarks.md (30-50 minutes in all).
bench: preflight $(BENCH_STAMP)
	@for name in $(BENCHMARKS); do \
		echo "== bench/$$name.py"; $(PY) bench/$$name.py || exit 1; \
	done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3* .test-db-*.sqlite3* .pytest_cache
