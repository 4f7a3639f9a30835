# Every target works from a fresh clone with only Python 3.11+, make and terraform on PATH.
# `make help` lists them.

PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
CLI := $(BIN)/snowplow-infra
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup venv test lint pytest terraform-check policy clean lambda configs bench ci-local

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Each target installs only what it uses: the project's .venv for everything; .venv-checkov
# (checkov cannot share .venv) for policy and the policy tests; node_modules (gitlab-ci-local, for
# the CI-definition tests and ci-local, installed when npm is available; its re2 dependency is
# tools/re2-as-regexp, so npm compiles nothing) for pytest and ci-local. So a fresh clone's
# `make demo` builds .venv alone.
NODE_TOOLS := $(if $(shell command -v npm 2>/dev/null),node_modules/.installed)

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(NODE_TOOLS) ## Create .venv, .venv-checkov and node_modules (everything any target uses); does nothing when up to date

venv: $(VENV)/.installed ## Create .venv (the project + dev extras), which every target uses; does nothing when up to date

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

node_modules/.installed: package.json package-lock.json $(wildcard tools/re2-as-regexp/*)
	npm ci --no-audit --no-fund --silent
	@touch $@

# The phases run in order and stop at the first failure; each one's time is printed, and a
# summary of all of them at the end.
TEST_PHASES := lint pytest terraform-check policy
test: ## Everything: lint, pytest, terraform fmt/validate/test, policy (checkov); prints each phase's time
	@summary=""; for phase in $(TEST_PHASES); do \
	  start=$$(date +%s); status=0; \
	  $(MAKE) --no-print-directory $$phase || status=$$?; \
	  took=$$(( $$(date +%s) - start )); \
	  if [ $$status -eq 0 ]; then result=passed; else result="FAILED (exit $$status)"; fi; \
	  echo "== make test: $$phase $$result in $$took s"; \
	  summary="$$summary $$phase=$${took}s"; \
	  [ $$status -eq 0 ] || { echo "== make test: failed in $$phase; phase times:$$summary"; exit $$status; }; \
	done; echo "== make test: passed; phase times:$$summary"

# The hooks of .pre-commit-config.yaml on every tracked file: ruff (lint, format), mypy --strict,
# terraform fmt and the project's own checks; a commit runs the same hooks on its files.
lint: venv ## pre-commit's hooks on every file: ruff, mypy --strict, terraform fmt, the project's checks
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "lint: pre-commit needs a git checkout (it lints the tracked files)."; exit 2; }
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

pytest: venv $(CHECKOV_VENV)/.installed $(NODE_TOOLS) ## The Python test suite
	$(BIN)/pytest $(PYTEST_ARGS)

terraform-check: venv ## terraform fmt -check, validate and test for every module and environment
	$(CLI) check-terraform

# --- policy: the one way the project runs checkov. docs/plan-review.md explains it. ---
# checkov's built-in checks plus the custom checks in policies/, on the Terraform files
# (POLICY_DIR) and, when it exists, on the environment's plan JSON (POLICY_PLAN, which `make plan`
# writes; policy does not depend on plan because planning needs the local emulator). Two runs,
# because checkov applies inline `checkov:skip` comments of the .tf files to a plan
# (--repo-root-for-plan-enrichment) only when the plan is scanned alone. Plan values known only
# after apply count as set (EVAL_TF_PLAN_AFTER_UNKNOWN). Reports: JUnit XML and GitLab SAST JSON
# for GitLab, JSON with each check's details for people; the plan's are prefixed plan_. Both runs
# always run; any failed check fails the target.
POLICY_DIR ?= terraform
POLICY_PLAN ?= build/plan/tfplan.json
POLICY_PLAN_ROOT ?= terraform/environments/aws-snowplow
POLICY_REPORTS ?= build/reports
POLICY_CHECKS ?=
POLICY_SCAN_PLAN = $(wildcard $(POLICY_PLAN))
POLICY_CHECKOV = EVAL_TF_PLAN_AFTER_UNKNOWN=true $(CHECKOV_VENV)/bin/checkov --compact --skip-download \
  --external-checks-dir policies $(if $(POLICY_CHECKS),--check $(POLICY_CHECKS)) \
  --output cli --output junitxml --output gitlab_sast --output json
policy_report_files = $(foreach f,junitxml.xml gitlab_sast.json json.json,$(POLICY_REPORTS)/$(1)results_$(f))
policy_comma := ,
policy_space := $() $()
policy_reports = --output-file-path console,$(subst $(policy_space),$(policy_comma),$(strip $(call policy_report_files,$(1))))

policy: venv $(CHECKOV_VENV)/.installed ## checkov (built-in + policies/) on terraform/, and on build/plan/tfplan.json when it exists; reports in build/reports/
	@mkdir -p $(POLICY_REPORTS)
	@rm -f $(call policy_report_files,) $(call policy_report_files,plan_)
	@test -n "$(POLICY_DIR)$(POLICY_SCAN_PLAN)" || { echo "policy: nothing to scan: POLICY_DIR is empty and $(POLICY_PLAN) does not exist."; exit 2; }
	status=0; \
	$(if $(POLICY_DIR),echo "policy: checkov on $(POLICY_DIR)/"; \
	  $(POLICY_CHECKOV) --framework terraform --directory $(POLICY_DIR) \
	    $(call policy_reports,) || status=1;) \
	$(if $(POLICY_SCAN_PLAN),echo "policy: checkov on $(POLICY_PLAN)"; \
	  $(POLICY_CHECKOV) --framework terraform_plan --file $(POLICY_PLAN) \
	    --repo-root-for-plan-enrichment $(POLICY_PLAN_ROOT) \
	    $(call policy_reports,plan_) || status=1;, \
	  echo "policy: no $(POLICY_PLAN), so the plan is not checked (make plan writes it)";) \
	exit $$status

# Build artifacts Terraform reads. Phony: the tools rebuild in a second, and unchanged sources give
# the identical bytes (the zip is then not even rewritten), so a rerun never changes a plan.
lambda: venv ## Build build/lambda/pseudonymization.zip (reproducible) and its .base64sha256
	$(CLI) package-lambda

configs: venv ## Render and validate the collector, enrich, Iglu and enrichment configs into build/config/
	$(CLI) render-configs

bench: venv ## Every benchmarks/bench_*.py (CPU time, paired rounds, median and spread); fails when one reports a regression
	@status=0; for bench in $(sort $(wildcard benchmarks/bench_*.py)); do \
	  echo "== make bench: $$bench"; $(BIN)/python $$bench || status=1; \
	done; exit $$status

.PHONY: docs
docs: venv ## Write each module README's input and output tables (between terraform-docs' markers) from its .tf files
	$(CLI) docs

.PHONY: plan
plan: lambda configs ## Plan aws-snowplow's production configuration against the local emulator into build/plan/tfplan and tfplan.json
	$(CLI) plan --env aws-snowplow

# Preview a change: aws-snowplow at git revision BASELINE (empty: the merge base with the default
# branch) applied to the emulator, the working tree planned against it, reviewed as CI reviews it.
BASELINE ?=
.PHONY: plan-baseline
plan-baseline: lambda configs ## Plan the working tree against aws-snowplow applied at BASELINE (default: merge base) in the emulator; review in build/plan/
	$(CLI) plan --env aws-snowplow --quiet --baseline $(BASELINE)

# --- local demo: docs/local-demo.md. The stack and the emulator stay up between the two.
.PHONY: demo down
demo: lambda configs ## Apply aws-snowplow to a local AWS emulator, send events through the real Lambda zip to S3, print a summary (ROTATE=1: rotate the salt inside the run; SALT_OUTAGE=1: the salt unreadable for part of it)
	$(CLI) local demo --env aws-snowplow $(if $(ROTATE),--rotate) $(if $(SALT_OUTAGE),--salt-outage)

down: venv ## Destroy the local demo's stack and stop its emulator
	$(CLI) local down --env aws-snowplow

# CI_LOCAL_JOBS: the jobs to run; .ci/run runs only `build`, because `make test` has already
# run what the test and policy jobs run.
CI_LOCAL_JOBS ?= build test policy
ci-local: venv $(NODE_TOOLS) ## Run .gitlab-ci.yml's jobs (CI_LOCAL_JOBS: build test policy) here with gitlab-ci-local (copies of the tracked files)
	@test -x node_modules/.bin/gitlab-ci-local || { echo "ci-local: gitlab-ci-local is not installed; it needs Node.js and npm (then run make ci-local again)."; exit 2; }
	node_modules/.bin/gitlab-ci-local --force-shell-executor --shell-isolation --no-artifacts-to-source $(CI_LOCAL_JOBS)

clean: ## Remove build output, virtualenvs and terraform working folders
	rm -rf build $(VENV) $(CHECKOV_VENV) node_modules .gitlab-ci-local .pytest_cache .ruff_cache .hypothesis
	find terraform -name .terraform -type d -prune -exec rm -rf {} +
	find terraform/modules -name .terraform.lock.hcl -delete
