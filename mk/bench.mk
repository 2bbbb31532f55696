# Issue 17's counters on both data tiers without the load points: sidecar calls per list page, per create (in the
# request and with its event handling) and per complete chain to the inbox, on redis and on postgres-kafka, each
# first with the code of BENCH_BASELINE (before) and then with the work tree (after) -> bench/results/
# stacks-counters.md / .json (about 12 minutes on 2 cores; BENCH_BASELINE= skips the before columns: 6 minutes).
# The Makefile includes this fragment.
BENCH_BASELINE ?= 3b7f4fc
.PHONY: bench-counters
bench-counters: venv dapr data-tier  ## sidecar calls per page, create and complete chain on both tiers, before and after
	@$(PY) bench/stacks.py --counters-only $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE)) $(BENCH_ARGS)
# My tasks for a person on 100 boards (a full "My tasks" index) against the list page of one board of 5,000 tasks:
# p50/p99 of each and the ratio (a few minutes; bench/my_tasks_page.py).
.PHONY: bench-my-tasks
bench-my-tasks: venv dapr  ## My tasks over 100 boards against one board of 5,000 tasks: p50/p99 and the ratio
	@$(PY) bench/my_tasks_page.py $(BENCH_ARGS)
