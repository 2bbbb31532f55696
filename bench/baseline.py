"""The same benchmark on the code of an earlier commit, in the same run: after ÷ before.

``bench/run.py --baseline <rev>`` (default ``de1d17d``, main before issue 26's work) runs, after the
main stack, a second stack started from ``git archive <rev>`` with *this* benchmark's code: the same seeding,
the sidecar-call counters (list pages, create in the request and with its events, complete chain to the inbox),
the app CPU per request (bench/app_cpu.py) and the full-stack scenarios ``page-list1000``, ``page-create`` and ``page-complete`` (no profiling). Its
results go in ``results.json`` under ``baseline``; ``tables.py`` renders them side by side.
"""

from __future__ import annotations

import argparse
import copy
import time

import loadgen
from common import T_START, say

DEFAULT_REV = "de1d17d"  # main before issue 26 (the app's own CPU per request)
SCENARIOS = ("page-list1000", "page-create", "page-complete")
BUDGET_S = 360.0  # the baseline's own time budget, from its start


class BaselineMain:
    """The baseline stack's scenarios in ``Bench.main`` (a mixin placed before ``Bench``)."""

    LOGS = "logs-baseline"

    async def measured_scenarios(self) -> None:
        """The baseline's share of ``Bench.main``: the list pages and the writes, no event latency."""
        await self.list_page_scenarios()
        await self.write_scenarios()


def baseline_args(args: argparse.Namespace) -> argparse.Namespace:
    """The main run's options with the baseline's scenarios, no profiling and a budget of its own."""
    out = copy.copy(args)
    # --only narrows the baseline too (e.g. --only app-cpu: the app CPU figures of both, nothing else)
    out.only = args.only or ",".join((*SCENARIOS, "app-cpu", "counters"))
    out.profile, out.in_place = False, False
    out.budget = time.monotonic() - T_START + BUDGET_S
    return out


def measure(bench_class, args: argparse.Namespace, rev: str, environment) -> dict:
    """Run the baseline stack of commit ``rev``; its results (failures included, the run goes on)."""
    bench = type("BaselineBench", (BaselineMain, bench_class), {})(baseline_args(args), rev=rev)
    say(f"baseline: the code of {rev} (git archive) on a second stack: {', '.join(SCENARIOS)} and the counters")
    started = time.monotonic()
    try:
        bench.start()
        bench.results["environment"] = environment(bench)
        loadgen.run(bench.main())
    except Exception as err:  # noqa: BLE001 - a benchmark reports every failure and carries on
        bench.failure(f"{type(err).__name__}: {err}")
    finally:
        bench.stop()
    bench.results["runtime_s"] = round(time.monotonic() - started, 1)
    bench.results["rev"] = rev
    return bench.results
