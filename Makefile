# Taskboard: `make run` starts everything, `make test` tests everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
REPLICAS ?= 1

.PHONY: run test test-unit dapr mailpit browser venv prepare clean help

help:
	@echo "make run    start Redis, the Dapr scheduler, both sidecars and both apps (Ctrl-C stops all)"
	@echo "make run REPLICAS=2   two instances of each app (each with its own daprd) behind HAProxy on :8000"
	@echo "make test   run the whole test suite against the real daprd, Redis and Chromium"
	@echo "make test-unit   the pure-logic tests only (no sidecar, no Go)"
	@echo "make test-postgres-kafka   the integration, fault, scale and consistency suites on PostgreSQL + Kafka"
	@echo "make test-consistency   the consistency checker once (CONSISTENCY_SEED=<n> replays a seed)"
	@echo "make soak SOAK_MINUTES=30   the consistency checker, seed after seed, for that long"
	@echo "make k8s-up / k8s-test / k8s-down   a one-node Kubernetes with Dapr's chart, Traefik and Taskboard"
	@echo "make bench / bench-counters / bench-stacks / bench-growth / bench-boards   benchmarks (bench/README.md)"
	@echo "make dapr   build or find the pinned Dapr runtime only"
	@echo "make mailpit   build or find the pinned Mailpit (the stack's mail server) only"
	@echo "make data-tier   provision PostgreSQL and Kafka only"
	@echo "make prepare  the venv and .run/ (secret key) that \`dapr run -f .\` (dapr.yaml) uses"
	@echo "make clean   remove .run/ and test artifacts"

run: venv dapr mailpit
	@$(PY) scripts/devstack.py --replicas $(REPLICAS)

test: venv dapr mailpit browser
	@$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

dapr:
	@bash scripts/provision-dapr.sh >/dev/null

mailpit:
	@bash scripts/provision-mailpit.sh >/dev/null

prepare: venv
	@$(PY) scripts/devstack.py --prepare

browser:
	@bash scripts/ensure-chromium.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-deploy.txt
	@echo "[venv] creating $(VENV) and installing pinned dependencies..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

clean:
	rm -rf .run test-artifacts .pytest_cache

.PHONY: bench
bench: venv dapr
	@$(PY) bench/run.py

# Growth: registration, list page and background work at 1,000 and 100,000 seeded users (about 20 min).
.PHONY: bench-growth
GROWTH_USERS ?= 1000,100000
bench-growth: venv dapr
	@$(PY) bench/growth.py --users $(GROWTH_USERS)

# Fragments: the local Kubernetes cluster (deploy/local-cluster/k8s.mk), the component-set switch (mk/stacks.mk),
# the benchmark counters on both stacks (mk/bench.mk) and the consistency checker's soak (mk/consistency.mk).
-include deploy/local-cluster/k8s.mk mk/stacks.mk mk/bench.mk mk/consistency.mk
