# ChainAtlas: `make demo` runs the main job, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test system-deps lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The suite checks that benchmarks/ imports only declared packages: it needs the bench extra.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench,spark]'
	touch $@ $(STAMP) $(BENCH_STAMP)

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@ $(STAMP)

## demo: create .venv, install, fetch the open data (or read $CHAINATLAS_MIRROR), build,
## print 石家庄市's panoramas and recommendations, then serve the web app (Ctrl+C stops it)
demo: $(STAMP)
	$(BIN)/chainatlas demo
	$(BIN)/chainatlas serve

## system-deps: Chromium, chromedriver and a Chinese font for the browser tests (root: apt-get)
system-deps:
	bash scripts/install-system-deps.sh

## test: install dev dependencies, lint, check the import layers, type-check, run every test
test: system-deps $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

## bench: install the bench extra and time the build against a plain DuckDB read
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench_build.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
