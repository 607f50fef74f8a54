# Two commands do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: env demo test lint bench contract clean

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.9

$(BIN)/soko: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

env: $(BIN)/soko

demo: env
	$(BIN)/soko demo --host 127.0.0.1 --port 8000

test: env
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	fc-list :lang=ja 2>/dev/null | grep -q . || (apt-get update && apt-get install -y fonts-ipafont-gothic)
	$(BIN)/pytest -n 2 --dist loadgroup

lint: env
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: env
	@set -e; for script in benchmarks/*/run.py; do echo "== $$script"; $(BIN)/python $$script; done

contract: env
	$(BIN)/soko contract > docs/data-contract.md

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache
