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

# `make demo` renders the default answers here (scratch: rendered over on every run).
DEMO ?= build/demo

.PHONY: help demo deps test test-fast lint relock cookiecutter clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Install the Debian packages the tests drive (needs root or sudo)
	sh scripts/install-debian-packages.sh $$(grep -v '^#' tests/apt-packages.txt)

$(VENV)/.synced: pyproject.toml uv.lock
	test -x $(BIN)/uv || { python3 -m venv $(VENV) && $(BIN)/pip install --quiet uv; }
	@# Bytecode now, once: copier, ansible and pytest start faster on every run after
	@# it (copier copy 1.15 s -> 0.76 s), even where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/uv sync --locked --quiet --compile-bytecode
	@touch $@

demo: $(VENV)/.synced ## Render the default project from this checkout into build/demo and run it (PORT=8000)
	$(BIN)/copier copy --quiet --defaults --overwrite --vcs-ref HEAD $(CURDIR) $(DEMO)
	@# The repo's venv has uv: the demo's bootstrap takes the fast path with it.
	PATH="$(BIN):$$PATH" $(MAKE) -C $(DEMO) bootstrap run $(if $(PORT),PORT=$(PORT))

test: deps $(VENV)/.synced ## Run the whole test suite (installs what it needs first)
	PATH="$(BIN):$$PATH" $(BIN)/pytest -n $(JOBS) -m "not deploy" $(PYTEST_ARGS)
	@# The deploy tests build on each other on one fleet of booted servers: one process.
	PATH="$(BIN):$$PATH" $(BIN)/pytest -m deploy $(PYTEST_ARGS)

test-fast: $(VENV)/.synced ## Skip the tests that bootstrap generated projects
	PATH="$(BIN):$$PATH" $(BIN)/pytest -n $(JOBS) -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.synced ## ruff on the repo's own Python, shellcheck on its scripts
	$(BIN)/ruff check tests scripts hooks bench
	$(BIN)/shellcheck scripts/*.sh .ci/run bench/run

relock: $(VENV)/.synced ## Re-lock the generated project's dependencies (locks/; UPGRADE=1: newest)
	PATH="$(BIN):$$PATH" $(BIN)/python scripts/relock.py $(if $(UPGRADE),--upgrade)
	$(MAKE) cookiecutter

cookiecutter: $(VENV)/.synced ## Rebuild cookiecutter/ from copier.yml and template/ (commit it)
	$(BIN)/python hooks/build_cookiecutter.py

clean: ## Remove the venv and caches
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache build
