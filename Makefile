# Every target installs what it needs first (`make tools`, cached outside the repo).
SHELL := /bin/bash
.DEFAULT_GOAL := help
export WEBHOOK_INGEST_CACHE ?= $(HOME)/.cache/terraform-aws-webhook-ingest
ENV := source $(WEBHOOK_INGEST_CACHE)/env.sh &&
PYTEST := $(ENV) python -m pytest
SOAK_SIZE ?= 10000

.PHONY: help tools localstack localstack-tools test smoke demo package bench cost soak lint checkov unit plan apply clean \
	lint-fmt lint-validate lint-tflint lint-schema lint-ruff lint-docs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

tools: ## Install the toolchain (Python venvs, terraform, tofu, tflint, providers, the aws 6.x schema) into the cache
	@bash toolchain/install.sh

lint: tools ## terraform fmt -check, validate, tflint, the aws 6.x schema check, ruff, README tables
	@$(MAKE) --no-print-directory $(LINT_STEPS)

# The steps of `make lint`, one target each: .pre-commit-config.yaml calls the same ones.
LINT_STEPS := lint-fmt lint-validate lint-tflint lint-schema lint-ruff lint-docs
TF_DIRS := . $(wildcard modules/*) $(wildcard examples/*)
lint-fmt:
	@$(ENV) terraform fmt -check -recursive -diff .
lint-validate:
	@$(ENV) bash toolchain/validate.sh
lint-tflint:
	@$(ENV) for d in $(TF_DIRS); do tflint --chdir="$$d" --config="$(CURDIR)/.tflint.hcl" || exit 1; done
lint-schema:
	@$(ENV) python -m tools.schema_check
lint-ruff:
	@$(ENV) ruff check . && $(ENV) ruff format --check .
lint-docs:
	@$(ENV) python -m tools.gen_docs --check

checkov: tools ## checkov over the module (skips are justified inline)
	@$(ENV) checkov --quiet --compact --skip-download --framework terraform -d . --skip-path tests --skip-path tools/package

# TEST_WORKERS pytest workers (one per core by default; the applies mostly wait on the aws
# provider's SQS polling, so more may pay). tests/conftest.py splits each xdist_group per
# engine and queues the groups first (--no-loadscope-reorder keeps that order);
# --durations shows where the time goes.
TEST_WORKERS ?= 2
test: tools localstack-tools lint checkov ## The full suite: lint, static checks, unit, VTL, plan, apply and end-to-end on both engines (TEST_WORKERS=2)
	@$(PYTEST) -m "not slow and not smoke" -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=25 tests

# LocalStack core (toolchain/localstack.sh: Python 3.13 venv in the cache, a stamp makes a warm run free).
localstack-tools:
	@bash toolchain/localstack.sh

localstack: tools localstack-tools ## The LocalStack differential suite: the edge on LocalStack vs the harness on moto
	@$(PYTEST) -n 0 --durations=10 tests/localstack

smoke: tools ## The toolchain proof on both engines: a minimal root applied, read back, re-planned, destroyed
	@$(PYTEST) -m smoke tests/smoke

unit: tools ## Only the fast tests (no Terraform)
	@$(PYTEST) -m "not plan" tests/unit tests/vtl tests/cost tests/lint

plan: tools ## Only the plan tests
	@$(PYTEST) -m plan tests

demo: tools ## Apply examples/complete locally, push sample webhooks, show history and DLQ, destroy (KEEP=1 keeps it)
	@$(ENV) python -m tools.demo $(if $(KEEP),--keep) $(if $(ENGINE),--engine $(ENGINE))

package: tools ## Build the processor zip exactly as archive_file deploys it, print its size and hash
	@$(ENV) bash toolchain/package.sh

bench: tools ## Benchmarks: processor overhead, cold start, package, Terraform timings
	@$(ENV) python -m tools.bench

cost: tools ## Cost per million webhooks from the module's settings (VAR_FILE=, PLAN=plan.json, DURATION_MS=, S3_PAYLOAD_KB=)
	@$(ENV) python tools/cost.py $(if $(VAR_FILE),--var-file $(VAR_FILE)) $(if $(PLAN),--plan $(PLAN)) $(if $(MODULE),--module $(MODULE)) $(if $(DURATION_MS),--duration-ms $(DURATION_MS)) $(if $(CONSUMER_SHARE),--consumer-share $(CONSUMER_SHARE)) $(if $(S3_PAYLOAD_KB),--s3-payload-kb $(S3_PAYLOAD_KB))

soak: tools ## The reliability stream at SOAK_SIZE webhooks (default 10000)
	@$(ENV) SOAK_SIZE=$(SOAK_SIZE) python -m pytest -m slow tests/reliability -s

clean: ## Remove build output in the repo (the toolchain cache stays)
	rm -rf build .build examples/*/.build examples/*/.terraform tools/package/.terraform tools/package/.build
