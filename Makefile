# Two commands: `make run` and `make test`. Both set up what they need first.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test preflight lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

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
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start --procfile Procfile --port 8000

test: preflight
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3* .test-db-*.sqlite3* .pytest_cache
