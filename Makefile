# copier-flask-deploy (the template repo): `make help` lists the targets.

.DEFAULT_GOAL := help
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Test workers; the suite is dominated by subprocesses, so one per core.
JOBS ?= auto
# Between runs on one machine, uv's wheels stay in its default cache (~/.cache/uv) and
# the booted servers' Debian root filesystem in CFD_CACHE_DIR (tests/rootfs.py), so a
# fresh clone reuses both.
# The tests never want uv to fetch a Python build: only PyPI is reachable.
export UV_PYTHON_DOWNLOADS := never

.PHONY: help deps test test-fast lint relock cookiecutter clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Install the Debian packages the tests drive (needs root or sudo)
	sh scripts/install-test-deps.sh

$(VENV)/.synced: pyproject.toml uv.lock
	test -x $(BIN)/uv || { python3 -m venv $(VENV) && $(BIN)/pip install --quiet uv; }
	$(BIN)/uv sync --locked --quiet
	@touch $@

test: deps $(VENV)/.synced ## Run the whole test suite (installs what it needs first)
	PATH="$(BIN):$$PATH" $(BIN)/pytest -n $(JOBS) -m "not deploy" $(PYTEST_ARGS)
	@# The deploy tests build on each other on one fleet of booted servers: one process.
	PATH="$(BIN):$$PATH" $(BIN)/pytest -m deploy $(PYTEST_ARGS)

test-fast: $(VENV)/.synced ## Skip the tests that bootstrap generated projects
	PATH="$(BIN):$$PATH" $(BIN)/pytest -n $(JOBS) -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.synced ## ruff on the repo's own Python, shellcheck on its scripts
	$(BIN)/ruff check tests scripts hooks bench
	$(BIN)/shellcheck scripts/*.sh .ci/run bench/run

relock: $(VENV)/.synced ## Re-lock the generated project's dependencies (locks/)
	PATH="$(BIN):$$PATH" $(BIN)/python scripts/relock.py
	$(MAKE) cookiecutter

cookiecutter: $(VENV)/.synced ## Rebuild cookiecutter/ from copier.yml and template/ (commit it)
	$(BIN)/python hooks/build_cookiecutter.py

clean: ## Remove the venv and caches
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
