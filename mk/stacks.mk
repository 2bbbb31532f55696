# The data tier's switch (issue 15): TASKBOARD_STACK=redis (default) or postgres-kafka picks the servers
# and the component set of `make run`, `make test` and `make bench` (scripts/devstack_data.py):
#   TASKBOARD_STACK=postgres-kafka make run     PostgreSQL + Kafka, no Redis process at all
# The Makefile includes this fragment.
TASKBOARD_STACK ?= redis
export TASKBOARD_STACK

.PHONY: data-tier test-postgres-kafka

# Provision the servers of every stack without starting them: Redis, PostgreSQL (Debian's packages)
# and the pinned Kafka (Maven Central's jars, cached in ~/.cache/taskboard/kafka-<version>/).
data-tier:  ## provision PostgreSQL and Kafka (and Redis) without starting them
	@bash scripts/ensure-redis.sh
	@bash scripts/ensure-postgresql.sh >/dev/null
	@bash scripts/provision-kafka.sh >/dev/null

# The integration, fault and scale suites on the second stack (what CI runs besides `make test`): every test
# that depends on the data tier (ETags, transactions, TTLs, bulk reads, consumer groups across replicas, faults,
# the consistency checker's invariants).
# test_sso.py starts a stack of its own for the OpenID provider; single sign-on touches no store-specific code,
# and `make test` runs it on Redis.
test-postgres-kafka: venv dapr  ## the integration, fault, scale and consistency suites on PostgreSQL + Kafka
	@TASKBOARD_STACK=postgres-kafka $(PY) -m pytest tests/integration tests/faults tests/scale tests/consistency \
		--ignore=tests/integration/test_sso.py $(PYTEST_ARGS)

# The benchmark's full-stack scenarios (create, list 100/1,000, complete -> inbox) and event latency on
# both stacks in one run, as ratios: bench/results/stacks.md (about 15 minutes on 2 cores).
.PHONY: bench-stacks
bench-stacks: venv dapr data-tier  ## the full-stack scenarios on both data tiers, as ratios (about 15 min)
	@$(PY) bench/stacks.py
