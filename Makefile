# shopstack's front door. Every target runs the same on a laptop and in CI.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PROJECT_ENVIRONMENT ?= $(CURDIR)/.venv
UV ?= $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.venv-tools/bin/uv)
PORT ?= 8000

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

$(UV):
	python3 -m venv $(CURDIR)/.venv-tools
	$(CURDIR)/.venv-tools/bin/pip install --quiet 'uv==0.13.9'

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked
	@touch $@

# The shop's runtime alone (pyproject's dependencies, none of the groups' tools): what `make run`
# needs. --inexact keeps what a full install added, so a checkout that ran `make test` keeps its tools.
.venv/.synced-runtime: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --no-default-groups --inexact
	@touch $@

.PHONY: install
install: .venv/.synced ## Create the virtualenv from the lock file (every group: tests, infra, lab, checks)

.PHONY: install-runtime
install-runtime: .venv/.synced-runtime ## Create the virtualenv with the shop's runtime only

.PHONY: run
run: install-runtime ## Migrate, seed the demo catalog and serve the shop on http://127.0.0.1:$(PORT)
	PORT=$(PORT) $(UV) run --no-sync bash pipelines/run-local.sh

# The lab's host tests spend most of their time waiting on hosts (packages, services, deploys), and
# the event backbone's and the AWS emulator's on nodes, clusters and killed workers of their own, so
# they (and the static checks) run beside the app's tests rather than after them, each with a log shown once it ends (the
# event tests on a database and Redis of their own). `make test` fails if any of them fails.
HOSTS_LOG := build/test-hosts.log
SIDE_LOG := build/test-side.log

.PHONY: test
test: install ## Run every test (brings up the services and the lab it needs)
	@mkdir -p build
	@$(UV) run --no-sync bash pipelines/services-up.sh
	@echo "==> test-hosts runs in the background (log: $(HOSTS_LOG))"
	@echo "==> lint, test-events and test-aws run in the background (log: $(SIDE_LOG))"
	@$(MAKE) --no-print-directory test-hosts > $(HOSTS_LOG) 2>&1 & hosts=$$!; \
	TEST_POSTGRES_URL=$(EVENTS_POSTGRES_URL) TEST_REDIS_URL=$(EVENTS_REDIS_URL) \
		$(MAKE) --no-print-directory lint test-events test-aws > $(SIDE_LOG) 2>&1 & side=$$!; \
	$(MAKE) --no-print-directory test-app test-infra test-monitoring test-pipelines; \
	suites=$$?; \
	echo "==> waiting for lint, test-events and test-aws (log: $(SIDE_LOG))"; \
	wait $$side; side=$$?; \
	cat $(SIDE_LOG); \
	echo "==> waiting for test-hosts (log: $(HOSTS_LOG))"; \
	wait $$hosts; lab=$$?; \
	cat $(HOSTS_LOG); \
	echo "==> test suites: exit $$suites; lint, test-events and test-aws: exit $$side; test-hosts: exit $$lab"; \
	[ $$suites -eq 0 ] && [ $$side -eq 0 ] && [ $$lab -eq 0 ]

# The event tests' own database and Redis database when they run beside the app's tests.
EVENTS_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/shopstack_test_events
EVENTS_REDIS_URL ?= redis://127.0.0.1:6379/14

.PHONY: test-app
test-app: install ## The shop's tests on the embedded default and on PostgreSQL + Redis
	$(UV) run --no-sync bash pipelines/services-up.sh
	$(UV) run --no-sync pytest tests/app -m "not rabbitmq"

.PHONY: test-events
test-events: install ## The event backbone's fault tests: RabbitMQ nodes and PostgreSQL clusters of their own, killed workers
	$(UV) run --no-sync bash pipelines/services-up.sh
	$(UV) run --no-sync pytest tests/app -m rabbitmq

.PHONY: test-infra
test-infra: install ## The Pulumi program, its policy pack and the stack snapshots
	$(UV) run --no-sync pytest tests/infra tests/policy

.PHONY: test-aws
test-aws: install ## The playbooks' AWS API calls against an emulator (moto, on 127.0.0.1; no AWS account)
	$(UV) run --no-sync pytest tests/aws

.PHONY: test-monitoring
test-monitoring: install ## Rules, SLOs, Alertmanager routing, dashboards and runbooks (promtool, amtool)
	bash pipelines/monitoring-tools.sh
	$(UV) run --no-sync pytest tests/monitoring

.PHONY: monitoring
monitoring: install ## Regenerate monitoring/'s rules, promtool cases and dashboards from their sources
	$(UV) run --no-sync python -m monitoring.generate

.PHONY: test-pipelines
test-pipelines: install ## The pipeline's steps, workflows and DORA maths (no lab)
	$(UV) run --no-sync pytest tests/pipelines

.PHONY: pipeline
pipeline: install ## check -> build -> deploy -> verify against the lab, each step timed, then the DORA figures
	$(UV) run --no-sync python -m pipelines run --target lab

.PHONY: test-hosts
test-hosts: install ## The lab of systemd hosts: converge, idempotence, testinfra, rolling deploys
	$(UV) run --no-sync python -m lab prove

.PHONY: lab-up
lab-up: install ## Bring up the lab of EC2-like hosts serving this tree's shop (idempotent)
	$(UV) run --no-sync python -m lab up
	$(UV) run --no-sync python -m pipelines converge

.PHONY: lab-down
lab-down: install ## Remove everything lab-up created (cached images and packages stay)
	$(UV) run --no-sync python -m lab down

.PHONY: lint
lint: install ## Static checks: ruff, mypy, ansible-lint, hadolint, the workflows, promtool, amtool, bandit
	bash pipelines/monitoring-tools.sh
	$(UV) run --no-sync python -m pipelines check --static-only

.PHONY: bench
bench: install ## Load the shop under gunicorn and print requests/s and latencies
	$(UV) run --no-sync python pipelines/bench.py

.PHONY: bench-profile
bench-profile: install ## Profile add to cart and checkout in-process: CPU ms, statements and round trips, CPU by subsystem
	$(UV) run --no-sync python pipelines/bench.py --profile

.PHONY: bench-events
bench-events: install ## Publish events through RabbitMQ to a consumer and print events/s end to end
	$(UV) run --no-sync python pipelines/bench_events.py

.PHONY: clean
clean: ## Remove the virtualenvs and local state
	rm -rf .venv .venv-tools instance
