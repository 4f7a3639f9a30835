# Every target works from a fresh clone with only Python 3.11+, make and terraform on PATH.
# `make help` lists them.

PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
CLI := $(BIN)/snowplow-infra
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup test lint pytest terraform-check checkov clean lambda configs bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Node tools (gitlab-ci-local, for the CI-definition tests) are installed when npm is available.
NODE_TOOLS := $(if $(shell command -v npm 2>/dev/null),node_modules/.installed)

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(NODE_TOOLS) ## Create .venv (project + dev extras), .venv-checkov and node_modules; does nothing when up to date

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; run make with PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

test: setup lint pytest terraform-check checkov ## Everything: ruff, pytest, terraform fmt/validate/test, checkov

lint: setup ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: setup ## The Python test suite
	$(BIN)/pytest $(PYTEST_ARGS)

terraform-check: setup ## terraform fmt -check, validate and test for every module and environment
	$(CLI) check-terraform

checkov: setup ## checkov's policies on terraform/
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform --directory terraform

# Build artifacts Terraform reads. Phony: the tools rebuild in a second, and unchanged sources give
# the identical bytes (the zip is then not even rewritten), so a rerun never changes a plan.
lambda: setup ## Build build/lambda/pseudonymization.zip (reproducible) and its .base64sha256
	$(CLI) package-lambda

configs: setup ## Render and validate the collector, enrich, Iglu and enrichment configs into build/config/
	$(CLI) render-configs

bench: setup ## Benchmark the pseudonymization Lambda: events/s, MB/s, peak memory, import time, speed-up
	$(BIN)/python benchmarks/bench_pseudonymization.py

.PHONY: plan
plan: lambda configs ## Plan aws-snowplow's production configuration against the local emulator into build/plan/tfplan and tfplan.json
	$(CLI) plan --env aws-snowplow

clean: ## Remove build output, virtualenvs and terraform working folders
	rm -rf build $(VENV) $(CHECKOV_VENV) node_modules .gitlab-ci-local .pytest_cache .ruff_cache .hypothesis
	find terraform -name .terraform -type d -prune -exec rm -rf {} +
	find terraform/modules -name .terraform.lock.hcl -delete
