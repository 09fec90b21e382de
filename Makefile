# One entry point for people and CI. `make run` serves locally; `make test` runs `make check` and the whole suite;
# `make test-fast` runs the tests that need neither Azurite nor a real HTTP server.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV := .venv-checkov/bin/checkov

.PHONY: install run run-memory check test test-fast bench clean checkov-venv

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov pins an older pycep-parser than the infra tests use, so it lives in its own environment.
checkov-venv: $(CHECKOV)
$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check checkov==3.3.30

# Azurite (local Table service) starts with the service; data lives under .data/ and survives restarts.
# `make run PORT=7072` (or SCIM_PORT=7072 in the environment) serves on another port. The recipe execs the
# server, so a SIGTERM to make (a supervisor, `timeout`, an IDE's stop button) reaches it and it stops Azurite.
# Only a PORT on make's command line counts: one in the environment often belongs to another tool.
SCIM_PORT ?= 7071
ifneq ($(origin PORT),command line)
PORT := $(SCIM_PORT)
endif

run: install
	exec env SCIM_STORE=tables $(BIN)/scimctl serve --port $(PORT)

run-memory: install
	exec env SCIM_STORE=memory $(BIN)/scimctl serve --port $(PORT)

SOURCES := scim tests bench function_app.py

check: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy

# Tests run in a random order (pytest-randomly prints the seed): `pytest --randomly-seed=N` repeats an order,
# `pytest -p no:randomly` keeps file order.
test: check checkov-venv
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not azurite and not e2e"

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .venv-checkov node_modules .pytest_cache .mypy_cache .ruff_cache
