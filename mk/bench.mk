# Issue 17's counters on both data tiers without the load points (a few minutes): sidecar calls per list page,
# per create (in the request and with its event handling) and per complete chain to the inbox, on redis and on
# postgres-kafka -> bench/results/stacks-counters.md / .json. The Makefile includes this fragment.
.PHONY: bench-counters
bench-counters: venv dapr data-tier
	@$(PY) bench/stacks.py --counters-only $(BENCH_ARGS)
