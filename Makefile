# Agora: every target installs what it needs (uv venv from uv.lock, node_modules from package-lock.json).
SHELL := /bin/bash
.DEFAULT_GOAL := help

BOOTSTRAP := $(shell tools/bootstrap.sh)
UV := $(patsubst UV=%,%,$(filter UV=%,$(BOOTSTRAP)))
PYTHON313 := $(patsubst PYTHON313=%,%,$(filter PYTHON313=%,$(BOOTSTRAP)))
PY := .venv/bin/python
PYTEST := $(PY) -m pytest

export UV_PYTHON_DOWNLOADS := never
# Every tool below (cdk synth, LocalStack, the e2e runner) uses the Python 3.13 found here.
export AGORA_PYTHON313 := $(PYTHON313)
# tools/localstack/ctl.py installs LocalStack's venvs with it (pip without it).
export AGORA_UV := $(UV)
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/.venv/bin:$(PATH)
export CDK_HOME := $(CURDIR)/.local/cdk-home
# jsii warns on every run about the host's Node 20; the CLI runs on the pinned Node 22 from node_modules.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1

# SERVICE=orders limits deploy and deploy-local to that service's stack (Agora-Orders).
SERVICE ?=
SERVICE_STACK := $(if $(SERVICE),Agora-$(shell echo '$(SERVICE)' | sed 's/^./\U&/'))

.PHONY: help deps dev dev-down test test-unit test-infra test-localstack test-e2e client-test console redrive audit load chaos fuzz openapi synth deploy deploy-local seed bench lint clean

help:
	@echo "make dev          run the whole system locally (LocalStack on the host) and print the API URL"
	@echo "make dev-down     stop everything 'make dev' started"
	@echo "make test         the full suite: lint (ruff, format, mypy, cfn-lint), unit, integration, infra, LocalStack tooling, e2e"
	@echo "make client-test  the tutorial's own client test (jest + supertest) against the running make dev"
	@echo "make console      dashboards, alarms, traces, logs and DLQs of the running make dev on http://127.0.0.1:4580"
	@echo "make redrive      move every DLQ's messages back to their queues (running make dev) and list them"
	@echo "make audit        check the stock, reservation and outbox invariants of the running make dev"
	@echo "make load         a bounded shop-shaped Locust load on the running make dev, then the audit"
	@echo "make chaos        the same load while PostgreSQL, Redis, executors, PutEvents and a consumer fail in turn"
	@echo "make fuzz         a longer Schemathesis run (random seed) against the running make dev"
	@echo "make openapi      regenerate the OpenAPI documents in openapi/ from the code"
	@echo "make synth        synthesize both targets into cdk.out/aws and cdk.out/localstack"
	@echo "make deploy       deploy every stack to AWS (uses your AWS credentials); SERVICE=orders: that one"
	@echo "make deploy-local deploy to LocalStack started from localstack-compose.yml (Docker); SERVICE=orders too"
	@echo "make seed         load the catalog and the admin user into the running dev system"
	@echo "make bench        measure cold-start import time of every function"
	@echo "make lint         ruff (lint, format, complexity), mypy (strict on functions/ and layers/) and cfn-lint"
	@echo "make clean        remove build output (keeps .local data)"

.venv/.synced: pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON313)
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: .venv/.synced node_modules/.installed

dev: deps
	$(PY) -m tools.dev.stack up

dev-down: deps
	$(PY) -m tools.dev.stack down

test: deps lint test-unit test-infra test-localstack test-e2e

test-unit: deps
	$(PYTEST) tests/unit tests/integration

test-infra: deps
	$(PYTEST) tests/infra

test-localstack: deps
	$(PYTEST) tools/localstack/tests

# Chromium for tests/e2e/test_console.py: apt-get installs Debian's when it is missing and this is root
# (CI); without root it says what to run and the browser test skips.
test-e2e: deps
	$(PY) -m tools.console.browser ensure
	$(PY) -m tools.dev.stack e2e

client-test: deps
	$(PY) -m tools.dev.client

redrive: deps
	$(PY) -m tools.dev.redrive --all

console: deps
	$(PY) -m tools.console $(if $(PORT),--port $(PORT))

audit: deps
	$(PY) -m tools.dev.audit

load: deps
	$(PY) -m tools.load.run

chaos: deps
	$(PY) -m tools.chaos.run

fuzz: deps
	$(PY) -m tools.dev.fuzz

openapi: deps
	$(PY) -m tools.openapi

synth: deps
	rm -rf cdk.out/aws cdk.out/localstack
	cdk synth --quiet --output cdk.out/aws -c target=aws
	cdk synth --quiet --output cdk.out/localstack -c target=localstack \
		-c database_url=postgresql://postgres@127.0.0.1:5432/postgres -c redis_url=redis://127.0.0.1:6379/0

deploy: deps
	cdk deploy --require-approval broadening -c target=aws $(if $(SERVICE_STACK),$(SERVICE_STACK) --exclusively,--all)

deploy-local: deps
	$(PY) -m tools.dev.stack deploy-compose $(if $(SERVICE_STACK),--stacks $(SERVICE_STACK))

seed: deps
	$(PY) -m tools.dev.stack seed

bench: deps
	$(PY) -m bench

lint: deps synth
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy --strict functions layers/shared/python
	$(PY) -m mypy stacks bench tools/dev tools/console tools/chaos tools/load tools/localstack/ctl.py tools/localstack/tests
	@# The LocalStack plugin runs in LocalStack's own venv: check it against the libraries it runs with.
	$(PY) tools/localstack/ctl.py install
	cd tools/localstack/plugin && ../../../.venv/bin/python -m mypy --config-file ../../../pyproject.toml --cache-dir ../../../.mypy_cache/localstack --python-executable ../../../.local/localstack/venv/bin/python .
	@# W3005: CDK emits DependsOn on a role that a GetAtt already orders; harmless and not ours to change.
	.venv/bin/cfn-lint --ignore-checks W3005 -- cdk.out/aws/*.template.json cdk.out/localstack/*.template.json

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path "./.venv/*" -not -path "./node_modules/*" -prune -exec rm -rf {} +
