"""`make bench-stacks`: the full-stack scenarios on each data tier in one run, side by side, as ratios.

For each TASKBOARD_STACK (redis, then postgres-kafka) the benchmark's own machinery (bench/machinery.py's
Bench: a snapshot of the tree, the production-like stack, users and tasks seeded through the forms,
calibrated open-model load points) measures the complete → inbox event latency and the full-stack
scenarios: create, list 100 / 1,000, complete; and first the sidecar-call counters (daprd metrics on both
stacks, Redis commandstats on redis only): per list page, per create (in the request, and with its event
handling) and per complete chain to the inbox. Without bench/variants.py (it talks to Redis directly)
and without profiling. Both stacks drain events the same way: until the sidecars' delivery counters
stand still. Writes bench/results/stacks.md and stacks.json (--counters-only: stacks-counters.md/json,
the counters without the load points, a few minutes).

    .venv/bin/python bench/stacks.py [--point-seconds 6] [--stacks redis,postgres-kafka] [--counters-only]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import procstats  # noqa: E402
import machinery  # noqa: E402  (installs requirements-bench.txt when missing)

import loadgen  # noqa: E402
import redis  # noqa: E402
import summaries  # noqa: E402
from before_after import counter_rows  # noqa: E402
from common import StackDied, say, until_quiet  # noqa: E402

SCENARIOS = ("page-create", "page-list100", "page-list1000", "page-complete")
ONLY = "page-list100,page-create,page-complete"  # page-list100 also selects page-list1000 (a prefix)
DELIVERY_METRICS = ("dapr_component_pubsub_ingress_count", "dapr_component_pubsub_egress_count")


class StackBench(machinery.Bench):
    """One stack's run of the full-stack scenarios."""

    def __init__(self, args, stack_name: str, rev: str | None = None):
        os.environ["TASKBOARD_STACK"] = stack_name  # devstack.Stack's default
        super().__init__(args, rev=rev or args.rev or None)
        self.stack_name = stack_name

    def start(self) -> None:
        say(f"[{self.stack_name}] starting the stack from {self.src} in {self.run_dir}")
        self.results["load_average_before_start"] = round(os.getloadavg()[0], 1)
        started = time.monotonic()
        self.stack.start()
        self.results["start_seconds"] = round(time.monotonic() - started, 1)
        names = ["taskboard", "daprd-taskboard", "notification-service", "daprd-notification-service",
                 "scheduler", *self.stack.servers()]
        self.groups = procstats.Groups({name: self.stack.procs[name].pid for name in names})
        self.peak_memory, self.peak_worker = {}, {}
        if "redis" in self.stack.servers():  # Redis commandstats beside the sidecar counters
            self.redis = redis.Redis(host="127.0.0.1", port=self.stack.ports.redis)

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.stack.procs.items() if p.poll() is not None}
        if dead:
            raise StackDied(f"process(es) of the stack exited: {dead}; see the logs")

    def deliveries(self) -> float:
        """Publishes and deliveries so far, summed over both sidecars' pub/sub metrics."""
        total = 0.0
        for ports in self.stack.ports.apps.values():
            with urllib.request.urlopen(f"http://127.0.0.1:{ports.metrics}/metrics", timeout=5) as resp:
                for line in resp.read().decode().splitlines():
                    if line.startswith(DELIVERY_METRICS):
                        total += float(line.rsplit(" ", 1)[1])
        return total

    async def drain(self, what: str, timeout: float = 30.0) -> float:
        """Until no event is published or delivered for a second (the same test on every broker)."""
        waited, settled = await until_quiet(self.deliveries, timeout)
        if not settled:
            self.warn(f"events after {what} still flowing after {timeout:.0f}s")
        return waited

    async def main(self) -> None:
        await self.seed()
        await self.guard(self.calls_per_page())
        await self.guard(self.calls_per_write())
        if not self.args.counters_only:
            await self.guard(self.event_latency())
            await self.list_page_scenarios()
            await self.write_scenarios()
        self.results["memory_peak_rss_mb"] = self.peak_memory


def measure(args, stack_name: str, rev: str | None = None) -> dict:
    """One stack's results (failures included: the run goes on to the next stack)."""
    bench = StackBench(args, stack_name, rev)
    try:
        bench.start()
        bench.results["environment"] = machinery.environment(bench)
        loadgen.run(bench.main())
    except Exception as err:  # noqa: BLE001 - a benchmark reports every failure and carries on
        bench.failure(f"{type(err).__name__}: {err}")
    finally:
        bench.stop()
    return bench.results


def row(name: str, results: dict[str, dict], stacks: list[str]) -> str:
    """One scenario: each stack's capacity, sustained throughput and light-load latency, then the ratios."""
    cells, entries = [name], [results[s]["scenarios"].get(name, {}) for s in stacks]
    for entry in entries:
        best, low = summaries.sustained(entry) if entry else None, summaries.light(entry) if entry else None
        cells += [summaries.fmt((entry.get("calibration") or {}).get("ops_per_s")),
                  summaries.fmt(best and best["achieved_rps"]),
                  f"{summaries.fmt(low and low['p50_ms'])} / {summaries.fmt(low and low['p99_ms'])}"]
    ends = (entries[0], entries[-1])  # the first stack and the last (one stack alone: the same twice)
    first, second = (summaries.sustained(e) if e else None for e in ends)
    light = [summaries.light(e) if e else None for e in ends]
    cells.append(summaries.ratio(second and second["achieved_rps"], first and first["achieved_rps"]))
    cells.append(summaries.ratio(light[1] and light[1]["p50_ms"], light[0] and light[0]["p50_ms"]))
    return "| " + " | ".join(cells) + " |"


def counters_table(results: dict[str, dict], stacks: list[str]) -> list[str]:
    """The counters, a column per stack (preceded by its baseline's when --baseline ran one)."""
    columns = []
    for s in stacks:
        before = results[s].get("baseline")
        if before:
            columns.append((f"{s} before ({before.get('rev')})", before))
        columns.append((s, results[s]))
    return ["| counted | " + " | ".join(c for c, _ in columns) + " |", "|---" * (1 + len(columns)) + "|",
            *[f"| {label} | " + " | ".join(summaries.fmt(get(r), 2) for _, r in columns) + " |"
              for label, get in counter_rows()]]


def report(results: dict[str, dict], stacks: list[str], counters_only: bool = False) -> str:
    """stacks.md: the scenarios side by side, then event latency, start times and failures
    (``counters_only``: stacks-counters.md, the sidecar-call counters alone)."""
    a, b = stacks[0], stacks[-1]
    head = " | ".join(f"{s} capacity/s | {s} sustained/s | {s} p50 / p99 ms (25% load)" for s in stacks)
    env = results[a].get("environment", {})
    lines = [
        "# The data tiers side by side (`make bench-stacks`)", "",
        f"{env.get('date', '')}, commit {env.get('git_commit', '?')}, daprd {env.get('daprd', '?')}, "
        f"{env.get('cpus', '?')} CPUs, {env.get('gunicorn', '')}; points of {results[a].get('point_seconds')} s. "
        "Same app, same snapshot; only TASKBOARD_STACK differs. Capacity: closed-loop calibration; sustained: the "
        "best open-model point with < 1% errors; latency at the lightest point. Ratios are "
        f"{b} / {a} (throughput above 1: {b} faster; latency above 1: {b} slower).", "",
        f"| scenario | {head} | throughput {b}/{a} | p50 {b}/{a} |",
        "|---" * (3 + 3 * len(stacks)) + "|",
        *[row(name, results, stacks) for name in SCENARIOS], "",
        "## Event latency: complete a task → its notification in the inbox (ms, from the POST's start)", "",
        "| stack | samples | p50 | p90 | p99 | max | errors |", "|---|---|---|---|---|---|---|",
    ]
    if counters_only:  # no load points were run: the counters only
        lines = ["# Sidecar calls on each data tier (`make bench-counters`)", "",
                 f"{env.get('date', '')}, commit {env.get('git_commit', '?')}, daprd {env.get('daprd', '?')}, "
                 f"{env.get('cpus', '?')} CPUs, {env.get('gunicorn', '')}. Same app, same snapshot; only "
                 "TASKBOARD_STACK differs (and, in the *before* columns, the code: the baseline commit).", ""]
    for s in stacks if not counters_only else []:
        ev = results[s].get("event_latency") or {}
        pct = ev.get("from_request_start_ms") or {}
        lines.append(f"| {s} | {ev.get('samples', 0)} | {pct.get('p50')} | {pct.get('p90')} | {pct.get('p99')} | "
                     f"{pct.get('max')} | {ev.get('errors') or '-'} |")
    ev_a, ev_b = ((results[s].get("event_latency") or {}).get("from_request_start_ms") or {} for s in (a, b))
    lines += ["", "## Sidecar API calls per operation", "",
              "From both daprd's metrics (the same counters as `make bench`'s results.md): the create in its request "
              "(second least of 30) and with its event handling, the complete chain to the inbox, a list page (least of "
              "three windows of 20).", "",
              *counters_table(results, stacks)]
    if not counters_only:
        lines += ["", f"Event latency {b}/{a}: p50 {summaries.ratio(ev_b.get('p50'), ev_a.get('p50'))}, "
                  f"p99 {summaries.ratio(ev_b.get('p99'), ev_a.get('p99'))}."]
    lines += ["", "## Stack start (warm caches) and problems", ""]
    for s in stacks:
        r = results[s]
        lines.append(f"* {s}: started in {r.get('start_seconds')} s; load average before it "
                     f"{r.get('load_average_before_start', '?')} on {env.get('cpus', '?')} CPUs; "
                     f"seeding {r.get('seeding', {}).get('seconds')} s; "
                     f"warnings {len(r.get('warnings', []))}; failures: {'; '.join(r.get('failures', [])) or 'none'}"
                     + (f"; its baseline's failures: {'; '.join(r['baseline'].get('failures', [])) or 'none'}"
                        if r.get("baseline") else ""))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="redis,postgres-kafka", help="comma-separated TASKBOARD_STACK values")
    parser.add_argument("--point-seconds", type=float, default=6.0, help="length of each load point")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each app")
    parser.add_argument("--out", default=str(machinery.RESULTS), help="where stacks.md and stacks.json go")
    parser.add_argument("--keep-run-dir", action="store_true", help="keep each stack's run directory and logs")
    parser.add_argument("--in-place", action="store_true", help="run the work tree itself, not a snapshot")
    parser.add_argument("--rev", default="", help="run the code of a commit (git archive), not the work tree")
    parser.add_argument("--baseline", default="", metavar="REV",
                        help="also measure each stack with the code of REV first (e.g. 3b7f4fc): before / after")
    parser.add_argument("--report-only", action="store_true", help="rewrite stacks.md from stacks.json")
    parser.add_argument("--counters-only", action="store_true",
                        help="only the sidecar-call counters, no load points (stacks-counters.md / .json)")
    args = parser.parse_args(argv)
    if args.report_only:
        name = "stacks-counters" if args.counters_only else "stacks"
        results = json.loads((Path(args.out) / f"{name}.json").read_text())
        (Path(args.out) / f"{name}.md").write_text(report(results, list(results), args.counters_only))
        return 0
    args.only, args.profile, args.budget = ONLY, False, 10**6
    stacks = args.stacks.split(",")
    results = {}
    for stack_name in stacks:
        before = measure(args, stack_name, args.baseline) if args.baseline else None
        results[stack_name] = measure(args, stack_name)
        results[stack_name]["point_seconds"] = args.point_seconds
        if before:
            results[stack_name]["baseline"] = {**before, "rev": args.baseline}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "stacks" if len(stacks) > 1 else f"stacks-{stacks[0]}"  # one stack: beside, not over, the comparison
    name += "-counters" if args.counters_only else ""
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))
    (out / f"{name}.md").write_text(report(results, stacks, args.counters_only))
    say(f"results in {out}/{name}.md and {name}.json")
    return 1 if any(r.get("failures") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
