"""`make bench-boards`: a shared board's two write paths side by side in one run, on each data tier.

For each stack (--stacks: redis, postgres-kafka) and each of --runs runs, two freshly started stacks from one
snapshot of the tree, one with TASKBOARD_BOARD_ACTORS=1 (the board actor takes each shared board's index
writes) and one with 0 (the optimistic path); the order alternates run by run (actor first in odd runs). On
each stack, --scenarios in turn: ``1x50`` (1 board x 50 writers), ``10x5`` (10 boards x 5 writers), ``1x1``
(1 board x 1 writer), each on boards of its own (2 tasks per writer, at least 10 a board). Every writer makes
--moves moves as bench/boards_load.py's members do (read the task page for its version, post the move,
retry on 409). Per scenario: the moves' p50/p95/p99, client 409s and 503s, the app's conflict retries and
give-ups and board actor turns and fallbacks (its metrics port), taskboard's sidecar API calls (its daprd's
metrics) and the CPU-seconds of the stack's processes (bench/procstats.py) per stored move, both counted
from the first move until the events it caused are delivered; then the lost-update check (every task's
revision and its index row equal 1 + its moves answered 302, rows given 30 s to be repaired by events).
Writes bench/results/boards-actors.json and .md (bench/boards_actors_report.py renders it).

    .venv/bin/python bench/boards_actors.py [--runs 3] [--moves 10] [--scenarios 1x50,10x5,1x1]
                                            [--stacks redis,postgres-kafka]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import shutil
import sys
import tempfile
import time
import traceback
import urllib.request
from collections import Counter
from pathlib import Path

import aiohttp

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import procstats  # noqa: E402
from benchstack import bench_stack_class, distinct_free_ports, load_devstack, short_commit, snapshot  # noqa: E402
from boards_actors_report import counter_delta, index_row_retries, render_markdown, run_figures, summarise  # noqa: E402
from common import until_quiet  # noqa: E402
from bench.boards_load import conflict_retries, member_moves, mismatches, seed, share_board  # noqa: E402
from bench.webclient import api_token, register  # noqa: E402

SCENARIOS = {"1x50": (1, 50), "10x5": (10, 5), "1x1": (1, 1)}  # name: (boards, writers per board)
PATHS = {"actor": "1", "optimistic": "0"}
DELIVERIES = ("dapr_component_pubsub_ingress_count", "dapr_component_pubsub_egress_count")
MEASURED = ("taskboard", "daprd-taskboard", "notification-service", "daprd-notification-service", "scheduler",
            "placement")  # and the stack's data servers


def say(message: str) -> None:
    print(f"[bench-boards {time.strftime('%H:%M:%S')}] {message}", flush=True)


def scrape(port: int) -> dict[str, float]:
    """A daprd's metrics: its app's API calls (gRPC and HTTP, server side) and its pub/sub traffic."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("dapr_grpc_io_server_completed_rpcs{") or line.startswith("dapr_http_server_request_count{"):
            out["api"] = out.get("api", 0.0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith(DELIVERIES):
            out["deliveries"] = out.get("deliveries", 0.0) + float(line.rsplit(" ", 1)[1])
    return out


class Measured:
    """One started stack: its processes' CPU, its sidecars' counters, the app's counters."""

    def __init__(self, stack):
        self.stack = stack
        names = [n for n in (*MEASURED, *stack.servers()) if n in stack.procs]
        self.groups = procstats.Groups({name: stack.procs[name].pid for name in names})

    def sidecar_ports(self) -> list[int]:
        return [ports.metrics for ports in self.stack.ports.apps.values()]

    def deliveries(self) -> float:
        return sum(scrape(port).get("deliveries", 0.0) for port in self.sidecar_ports())

    def api_calls(self) -> float:
        return scrape(self.stack.ports.apps["taskboard"].metrics).get("api", 0.0)

    def snapshot(self) -> dict:
        return {"cpu": self.groups.cpu(), "api": self.api_calls(), "app": dict(conflict_retries(self.stack.metrics_url())),
                "at": time.monotonic()}

    async def drain(self, timeout: float = 30.0) -> float:
        """Until no event is published or delivered for a second; seconds waited."""
        waited, _ = await until_quiet(self.deliveries, timeout)
        return round(waited, 1)

    def dead(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.stack.procs.items() if p.poll() is not None}


def new_session(force_close: bool = False) -> aiohttp.ClientSession:
    """The load generator's HTTP client: unbounded connections, idle ones dropped before the server's keepalive
    (5 s) drops them, so none is reused as the server closes it."""
    connector = aiohttp.TCPConnector(limit=0, force_close=force_close,
                                     **({} if force_close else {"keepalive_timeout": 2.0}))
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))


async def scenario(http, base: str, measured: Measured, people, name: str, moves: int, seed_value: int) -> dict:
    """One scenario on fresh boards of the registered ``people``: its moves, counters and lost-update check."""
    boards, per_board = SCENARIOS[name]
    boards_of: list[tuple[str, list, list[str]]] = []
    for n in range(boards):
        members = people[n * per_board:(n + 1) * per_board]
        board_id = await share_board(http, base, members, f"{name} {seed_value} {n}")
        ids = await seed(http, base, members[0], board_id, max(2 * per_board, 10))
        boards_of.append((board_id, members, ids))
    moved: Counter = Counter()
    took: list[float] = []
    outcomes: Counter = Counter()
    rng = random.Random(seed_value)
    before = measured.snapshot()
    load_before = os.getloadavg()[0]
    await asyncio.gather(*(member_moves(http, base, user, ids, moves, moved, took, outcomes,
                                        random.Random(rng.random()))
                           for _, members, ids in boards_of for user in members))
    elapsed = time.monotonic() - before["at"]
    drained = await measured.drain()
    after = measured.snapshot()
    cpu = {group: round(after["cpu"][group] - before["cpu"].get(group, 0.0), 2) for group in after["cpu"]}
    server = counter_delta(before["app"], after["app"])
    lost, behind = [], 0
    # The check on connections of its own: the writers' pooled ones idled through the drain, and gunicorn closes
    # an idle connection after 5 s (keepalive), which a reused one meets as "Server disconnected".
    async with new_session(force_close=True) as fresh:
        for board_id, members, ids in boards_of:
            token = await api_token(fresh, base, members[0], f"check{seed_value}")
            board_moves = Counter({t: moved[t] for t in ids})
            stale = await mismatches(fresh, base, token, board_id, ids, board_moves)
            behind += len(stale)
            waited = 0
            while stale and waited < 30:  # rows the change could not update: the task events repair them
                await asyncio.sleep(1)
                waited += 1
                stale = await mismatches(fresh, base, token, board_id, ids, board_moves)
            lost += [f"board {board_id}: {line}" for line in stale]
    figures = run_figures(took, outcomes, sum(moved.values()), server, after["api"] - before["api"],
                          sum(cpu.values()), elapsed, len(lost))
    return {"figures": figures, "answers": {str(k): v for k, v in outcomes.items()}, "server": server,
            "cpu_seconds": cpu, "elapsed_s": round(elapsed, 1), "drain_s": drained, "rows_behind_after_drain": behind,
            "lost": lost, "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


async def stack_run(base: str, measured: Measured, args, label: str, seed_value: int) -> list[dict]:
    """Every scenario of --scenarios on one started stack; a failed scenario is recorded and the rest go on."""
    most = max(boards * per_board for boards, per_board in (SCENARIOS[s] for s in args.scenarios))
    out = []
    async with new_session() as http:
        tag = secrets.token_hex(3)
        people = list(await asyncio.gather(*(register(http, base, f"ba{tag}{n}") for n in range(most))))
        for number, name in enumerate(args.scenarios):
            started = time.monotonic()
            try:
                result = await scenario(http, base, measured, people, name, args.moves, seed_value + number)
            except Exception as err:  # noqa: BLE001 - a benchmark reports every failure and carries on
                result = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
            dead = measured.dead()
            if dead:
                result["dead_processes"] = dead
            result.update(scenario=name, seed=seed_value + number)
            figures = result.get("figures") or {}
            say(f"{label} {name}: {figures or result.get('error')} lost {result.get('lost', '?')} "
                f"({time.monotonic() - started:.0f} s)")
            out.append(result)
            if dead:
                break
    return out


def one_stack(src: Path, devstack, stack_name: str, path: str, args, run: int, seed_value: int) -> dict:
    """A freshly started stack with one write path, the scenarios on it, stopped again."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"taskboard-boards-{stack_name}-{path}-"))
    stack = bench_stack_class(devstack)(
        run_dir, distinct_free_ports(devstack), workers=args.workers, app_token=secrets.token_urlsafe(16),
        api_token=secrets.token_urlsafe(16), daprd_log_level="warn", stack=stack_name,
        app_env={"TASKBOARD_ENV": "production", "GUNICORN_ACCESS_LOG": "0", "TASKBOARD_BOARD_ACTORS": PATHS[path]})
    label = f"[{stack_name} run {run} {path}]"
    record = {"stack": stack_name, "path": path, "run": run, "load_before_start": round(os.getloadavg()[0], 2)}
    try:
        started = time.monotonic()
        stack.start()
        record["start_s"] = round(time.monotonic() - started, 1)
        say(f"{label} stack up in {record['start_s']} s (load {os.getloadavg()[0]:.1f})")
        record["scenarios"] = asyncio.run(stack_run(stack.url(), Measured(stack), args, label, seed_value))
    except Exception as err:  # noqa: BLE001
        record["error"] = f"{type(err).__name__}: {err}"
        say(f"{label} failed: {record['error']}")
    finally:
        stack.stop()
    failed = "error" in record or any("error" in s or s.get("lost") or s.get("dead_processes")
                                      for s in record.get("scenarios", []))
    if failed:
        record["logs"] = str(run_dir / "logs")  # kept for the defect report
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    record["load_after"] = round(os.getloadavg()[0], 2)
    return record


def flatten(records: list[dict]) -> list[dict]:
    """One entry per (stack, run, path, scenario), as bench/boards_actors_report.py's ``summarise`` takes them."""
    return [{"stack": r["stack"], "path": r["path"], "run": r["run"], **s} for r in records
            for s in r.get("scenarios", [])]


def environment(args, src_commit: str) -> dict:
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "git_commit": src_commit, "cpus": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "gunicorn": f"{args.workers} workers x {os.environ.get('GUNICORN_THREADS', '8')} threads (gthread)",
            "moves_per_writer": args.moves, "runs": args.runs, "scenarios": args.scenarios, "stacks": args.stacks,
            "path_switch": "a freshly started stack per run and path, TASKBOARD_BOARD_ACTORS=1 (actor) or 0",
            "load_generator": "bench/boards_load.py's member_moves, asyncio + aiohttp, on the same machine"}


def render_again(out: str) -> None:
    """<out>.md again from <out>.json (figures added to the report since the run are derived from its raw counts)."""
    saved = json.loads(Path(f"{out}.json").read_text())
    for record in saved["runs"]:
        for result in record.get("scenarios", []):
            if result.get("figures"):
                result["figures"].setdefault("index_row_retries", index_row_retries(result.get("server", {})))
    saved["summary"] = summarise(flatten(saved["runs"]))
    Path(f"{out}.json").write_text(json.dumps(saved, indent=1))
    Path(f"{out}.md").write_text(render_markdown(saved["environment"], saved["seed"], saved["summary"], saved["runs"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--moves", type=int, default=10, help="moves per writer")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--stacks", default="redis,postgres-kafka")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of taskboard")
    parser.add_argument("--seed", type=int, default=None, help="replays the task choices of a reported run")
    parser.add_argument("--out", default=str(BENCH / "results" / "boards-actors"),
                        help="writes <out>.json and <out>.md")
    parser.add_argument("--render-only", action="store_true", help="rewrite <out>.md from <out>.json, run nothing")
    args = parser.parse_args()
    if args.render_only:
        render_again(args.out)
        return
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.stacks = [s for s in args.stacks.split(",") if s]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}: pick from {', '.join(SCENARIOS)}")
    base_seed = args.seed if args.seed is not None else random.randrange(1, 10 ** 6)
    work = Path(tempfile.mkdtemp(prefix="taskboard-boards-src-"))
    src = snapshot(ROOT, work / "src")  # edits made meanwhile do not reach the stacks under test
    devstack = load_devstack(src)
    env = environment(args, short_commit(ROOT))
    say(f"seed {base_seed}; {env}")
    records = []
    try:
        for stack_name in args.stacks:
            for run in range(1, args.runs + 1):
                order = ("actor", "optimistic") if run % 2 else ("optimistic", "actor")
                for path in order:
                    seed_value = base_seed + 1000 * len(records)
                    records.append(one_stack(src, devstack, stack_name, path, args, run, seed_value))
                    Path(f"{args.out}.json").write_text(json.dumps(
                        {"environment": env, "seed": base_seed, "summary": summarise(flatten(records)),
                         "runs": records}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = summarise(flatten(records))
    Path(f"{args.out}.md").write_text(render_markdown(env, base_seed, summary, records))
    say(f"wrote {args.out}.json and {args.out}.md")


if __name__ == "__main__":
    main()
