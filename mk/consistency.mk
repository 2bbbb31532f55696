# The consistency checker (tests/consistency): a seeded concurrent workload on shared boards through the pages
# and the API, with faults injected, then invariants on what is stored and delivered. `make test` runs it once
# at the CI size; a failure prints its seed and the history that breaks an invariant. The Makefile includes this.
#   CONSISTENCY_SEED=<n>        replay a seed (default: a new random seed, printed)
#   CONSISTENCY_CLIENTS=4       concurrent users;  CONSISTENCY_OPS=25  operations per user at least (each goes
#                               on until every fault below has happened once)
#   CONSISTENCY_FAULTS=sidecar,pause,broker,notifier   (or none)
#   CONSISTENCY_SETTLE_SECONDS=180   the most the events may take to be handled after the workload
#   make soak SOAK_MINUTES=30   seed after seed on one stack until the time is up (each seed and its op counts
#                               printed), the failing seeds reported at the end
SOAK_MINUTES ?= 30

.PHONY: test-consistency soak
test-consistency: venv dapr  ## the consistency checker once (CONSISTENCY_SEED=<n> replays a seed)
	@$(PY) -m pytest tests/consistency -s $(PYTEST_ARGS)

soak: venv dapr  ## the consistency checker seed after seed for SOAK_MINUTES (default 30)
	@CONSISTENCY_SOAK_SECONDS=$$(( $(SOAK_MINUTES) * 60 )) $(PY) -m pytest tests/consistency -s $(PYTEST_ARGS)
