# Taskboard: `make run` starts everything, `make test` tests everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
REPLICAS ?= 1

.PHONY: run test dapr mailpit browser venv prepare clean help

help:  ## list every target (this list)
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-zA-Z0-9_-]+):.*## /\1\t/' | sort | \
		awk -F'\t' '{printf "make %-20s %s\n", $$1, $$2}'

run: venv dapr mailpit  ## start Redis, the Dapr scheduler, both sidecars and both apps (REPLICAS=2: two of each behind HAProxy on :8000)
	@$(PY) scripts/devstack.py --replicas $(REPLICAS)

test: venv dapr mailpit browser  ## the whole test suite (every tests/<suite> but k8s) against the real daprd, Redis and Chromium
	@$(PY) -m pytest $(PYTEST_ARGS)

dapr:  ## build or find the pinned Dapr runtime only
	@bash scripts/provision-dapr.sh >/dev/null

mailpit:  ## build or find the pinned Mailpit (the stack's mail server) only
	@bash scripts/provision-mailpit.sh >/dev/null

prepare: venv  ## the venv and .run/ (secret key) that `dapr run -f .` (dapr.yaml) uses
	@$(PY) scripts/devstack.py --prepare

browser:  ## find or install Chromium for the browser tests
	@bash scripts/ensure-chromium.sh

venv: $(VENV)/.installed  ## the virtualenv with the pinned dependencies

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-deploy.txt
	@echo "[venv] creating $(VENV) and installing pinned dependencies..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

clean:  ## remove .run/ and test artifacts
	rm -rf .run test-artifacts .pytest_cache

.PHONY: bench
bench: venv dapr  ## the benchmark: sidecar limit to full stack (bench/README.md)
	@$(PY) bench/run.py

# Growth: registration, list page and background work at 1,000 and 100,000 seeded users (about 20 min).
.PHONY: bench-growth
GROWTH_USERS ?= 1000,100000
bench-growth: venv dapr  ## registration, list page and background work at 1,000 and 100,000 users (about 20 min)
	@$(PY) bench/growth.py --users $(GROWTH_USERS)

# Fragments: the local Kubernetes cluster (deploy/local-cluster/k8s.mk), the component-set switch (mk/stacks.mk),
# the benchmark counters on both stacks (mk/bench.mk), the consistency checker's soak (mk/consistency.mk) and a
# target per test suite (mk/tests.mk).
-include deploy/local-cluster/k8s.mk mk/stacks.mk mk/bench.mk mk/consistency.mk mk/tests.mk
