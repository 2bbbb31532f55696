# One target per test suite (tests/<suite>/), each marked in tests/conftest.py with what it needs
# (pytest -m stack / second_stack / tools / cluster / browser). `make test` runs them all but tests/k8s.
# The Makefile includes this fragment.
.PHONY: test-unit test-integration test-security test-browser test-faults test-scale test-deploy

test-unit: venv  ## the pure-logic tests only: no sidecar, no Go (about 2 minutes)
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv dapr  ## the app against a real stack: daprd, Redis (or PostgreSQL + Kafka), scheduler, both apps
	@$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-security: venv dapr  ## per-user isolation of every route, redirects, CSRF, headers, login throttling
	@$(PY) -m pytest tests/security $(PYTEST_ARGS)

test-browser: venv dapr browser  ## the journeys in Chromium (Playwright), screenshots in test-artifacts/
	@$(PY) -m pytest tests/browser $(PYTEST_ARGS)

test-faults: venv dapr  ## a sidecar, the broker or notification-service stopped mid-work: nothing lost
	@$(PY) -m pytest tests/faults $(PYTEST_ARGS)

test-scale: venv dapr  ## two replicas of each app on a stack of their own: jobs once, rolling restarts
	@$(PY) -m pytest tests/scale $(PYTEST_ARGS)

test-deploy: venv  ## the Dockerfile and Kubernetes manifests, rendered and validated with deploy/tools.sh's tools
	@$(PY) -m pytest tests/deploy $(PYTEST_ARGS)
