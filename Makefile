# Modest: two commands set everything up on a fresh machine.
#   make run   - create .venv, install, apply migrations and run the service
#   make test  - install with dev extras, lint, type-check and run the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run test install install-dev lint typecheck pytest bench docs clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(VENV)/bin/modest run

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy

pytest: install-dev
	$(PY) -m pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

docs: install-dev
	$(PY) -m tests.support.report_samples

bench: install-dev
	$(PY) -m bench.ingest
	$(PY) -m bench.outbox
	$(PY) -m bench.nag
	$(PY) -m bench.burst
	$(PY) -m bench.sla
	$(PY) -m bench.startup

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
