# gitward's developer entry points. Everything installs itself: Python packages
# into .venv/ (uv, from uv.lock), Go-built binaries into ~/.cache/gitward/.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: help install toolchain demo demo-down test test-unit lint bench bench-quick clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/gitward: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@touch $@

install: $(BIN)/gitward ## Create .venv/ with gitward (editable) and the dev tools

toolchain: install ## Build or reuse kube-apiserver, etcd, kwok, kubectl, kustomize, helm
	$(BIN)/gitward localkube build

demo: toolchain ## Bring up a local control plane and show it working
	@bash scripts/demo.sh

demo-down: install ## Stop the demo's local cluster
	$(BIN)/gitward localkube down --name demo

lint: install ## ruff, mypy --strict on gitward/, import-linter layer contracts
	$(BIN)/ruff check gitward tests bench
	$(BIN)/ruff format --check gitward tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test-unit: install ## Unit tests only (no cluster, no toolchain)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test: lint toolchain ## The whole suite: lint, unit, integration and e2e tests
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest ran no tests: failing" >&2; exit 1; fi; exit $$rc

bench: toolchain ## Every benchmark at full size: figures beside baselines, bench/results/
	$(BIN)/python -m bench.run

bench-quick: toolchain ## The same scenarios at reduced sizes (a few minutes)
	GITWARD_BENCH_QUICK=1 $(BIN)/python -m bench.run

clean: ## Remove .venv/ and caches inside the checkout (not ~/.cache/gitward)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
