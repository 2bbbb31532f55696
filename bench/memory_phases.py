"""The taskboard workers' memory through the phases of a seeding: registering users, creating tasks through the
form (some clients at once), the event handling after them, list pages. Shows which writes raise a worker's
heap and keep it there (bench/results/memory-phases.md).

    .venv/bin/python bench/memory_phases.py --users 1 --tasks 1000 --concurrency 4     # one board of 1,000
    .venv/bin/python bench/memory_phases.py --users 20 --tasks 1150 --concurrency 16   # the same, spread
    .venv/bin/python bench/memory_phases.py --rev <commit> ...                          # another commit's app
    .venv/bin/python bench/memory_phases.py --env PYTHONMALLOC=malloc ...               # the apps' environment

Prints one markdown row per phase: RSS and USS (MiB) of the gunicorn master and each worker, the largest worker
first. A stack of its own (free ports, production settings, as ``make bench``), stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machinery import Bench  # noqa: E402  (installs requirements-bench.txt when missing)

import loadgen  # noqa: E402
import webclient  # noqa: E402
from common import say  # noqa: E402

SETTLE_SECONDS = 20.0  # after the creates: their events are handled by the same workers
LIST_READS = 50  # list pages per user (of the first four) in the last phase


def workers_row(bench: Bench, phase: str, seconds: float) -> str:
    """The phase's markdown row: master, then the workers largest first, as RSS / USS."""
    memory = bench.groups.memory()["taskboard"]
    root = bench.groups.roots["taskboard"]
    master = next(p for p in memory["processes"] if p["pid"] == root)
    workers = sorted((p for p in memory["processes"] if p["pid"] != root), key=lambda p: -p["rss_mb"])
    cells = [f"{p['rss_mb']:.1f} / {p['uss_mb']:.1f}" for p in workers]
    return f"| {phase} | {seconds:.1f} | {master['rss_mb']:.1f} / {master['uss_mb']:.1f} | {' | '.join(cells)} |"


async def phases(bench: Bench, args) -> list[str]:
    t0 = time.monotonic()
    rows = [workers_row(bench, "started", 0.0)]
    async with loadgen.new_session(64, timeout=60.0) as http:
        gate = asyncio.Semaphore(args.concurrency)

        async def register(n: int) -> webclient.WebUser:
            async with gate:
                return await webclient.register(http, bench.app_url, f"mem{secrets.token_hex(3)}{n}")

        users = await asyncio.gather(*(register(n) for n in range(args.users)))
        rows.append(workers_row(bench, f"{args.users} users registered", time.monotonic() - t0))
        queue, errors = list(range(args.tasks)), []

        async def creator() -> None:
            while queue:
                n = queue.pop()
                _, error = await webclient.create_task(http, bench.app_url, users[n % len(users)], f"Task {n}")
                if error:
                    errors.append(error)  # e.g. a 503 when the index kept changing through every retry

        await asyncio.gather(*(creator() for _ in range(args.concurrency)))
        failed = f" ({len(errors)} refused: {', '.join(sorted(set(errors)))})" if errors else ""
        rows.append(workers_row(bench, f"{args.tasks} creates, {args.concurrency} at once{failed}",
                                time.monotonic() - t0))
        await asyncio.sleep(SETTLE_SECONDS)
        rows.append(workers_row(bench, f"{SETTLE_SECONDS:.0f} s later (events handled)", time.monotonic() - t0))
        for user in users[:4]:
            for _ in range(LIST_READS):
                await webclient.list_page(http, bench.app_url, user)
        rows.append(workers_row(bench, f"{LIST_READS} list pages of {min(4, len(users))} users",
                                time.monotonic() - t0))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1, help="users the tasks are spread over")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks created through the form")
    parser.add_argument("--concurrency", type=int, default=4, help="clients registering and creating at once")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each app")
    parser.add_argument("--rev", default="", help="run this commit's app (git archive) instead of the work tree")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable of the apps (repeatable)")
    args = parser.parse_args()
    # What Bench reads of run.py's options: no scenario of its own runs here.
    args.in_place, args.only, args.keep_run_dir = False, "memory", False
    args.out = str(Path(tempfile.gettempdir()) / "taskboard-memory-phases")  # the stack's logs if it fails
    bench = Bench(args, rev=args.rev or None)
    bench.stack.app_env.update(dict(item.split("=", 1) for item in args.env))
    bench.start()
    try:
        rows = loadgen.run(phases(bench, args))
    finally:
        bench.stop()
    what = f"{args.rev or 'work tree'}{' ' + ' '.join(args.env) if args.env else ''}"
    header = " | ".join(f"worker {n + 1}" for n in range(args.workers))
    print(f"\n{what}: RSS / USS MiB\n\n| phase | s | master | {header} |\n|---|---:|---:|"
          + "---:|" * args.workers)
    print("\n".join(rows))
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
