"""The app CPU per request of this tree and of another commit, side by side on ONE stack, rounds alternating.

`bench/run.py --baseline` measures the baseline on a second stack minutes later, and on a shared machine the
same code's CPU per request moves by 10-15 % between such runs: too much to see a 5 % change. Here both apps
run at once behind the same sidecar (the baseline's gunicorn is a second taskboard app, started from
`git archive REV`, talking to the stack's taskboard daprd; both read the same secret key, so one sign-in
serves both), and each read scenario alternates rounds A, B, B, A, ... so both see the same machine.

Only reads are compared (the sidecar delivers events to the stack's own app, so a write's event handling would
count on one side only).

    .venv/bin/python bench/ab.py                 # this tree ÷ HEAD
    .venv/bin/python bench/ab.py --rev de1d17d --rounds 8 --only page-list10,changes-304
    .venv/bin/python bench/ab.py --env-b TASKBOARD_GC_THRESHOLD=10000   # one setting, same code on both sides
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machinery import ROOT, Bench  # noqa: E402

import app_cpu  # noqa: E402
import loadgen  # noqa: E402
import procstats  # noqa: E402
from benchstack import short_commit, snapshot  # noqa: E402
from common import IndexCounter, say  # noqa: E402

READS = ("page-list10", "page-list1000", "page-board", "page-task", "changes-304", "api-get")
B_GROUP = "taskboard-b"


class SideBySide(Bench):
    """A Bench whose stack also runs ``rev``'s taskboard app on the same sidecar."""

    url_override: str | None = None

    @property
    def app_url(self) -> str:
        return self.url_override or super().app_url

    def start_b(self, rev: str, env_b: dict[str, str]) -> None:
        src = snapshot(ROOT, self.run_dir / "src-b", rev)
        port = self.stack.ports.apps["taskboard"].app + 1000
        env = {**os.environ, **self.stack.app_env_for("taskboard"), **env_b, "PORT": str(port),
               "TASKBOARD_METRICS_PORT": "0", "PROMETHEUS_MULTIPROC_DIR": str(self.run_dir / "metrics-b"),
               "GUNICORN_CONTROL_SOCKET": str(self.run_dir / "taskboard-b.ctl"),
               "TASKBOARD_DRAIN_FILE": str(self.run_dir / "taskboard-b.draining"),
               "TASKBOARD_MAIL_LOCK_FILE": str(self.run_dir / "taskboard-b.mail.lock")}
        (self.run_dir / "metrics-b").mkdir()
        self.b_proc = self.start_gunicorn("taskboard-b", "wsgi:app", port, env, src)
        self.b_url = f"http://127.0.0.1:{port}"
        self.groups = procstats.Groups({**self.groups.roots, B_GROUP: self.b_proc.pid})
        say(f"{rev}'s taskboard up on {self.b_url} (same sidecar)")

    def stop(self) -> None:
        proc = getattr(self, "b_proc", None)
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        super().stop()

    async def compare(self, names: list[str], rounds: int) -> dict:
        await self.seed()
        ops_a = await self.app_cpu_ops()
        self.url_override = self.b_url
        ops_b = await self.app_cpu_ops()
        self.url_override = None
        sides = {"A": (ops_a, "taskboard"), "B": (ops_b, B_GROUP)}
        self.largest_rss: dict[str, float] = {}
        figures = {}
        for name in names:
            per_side = {"A": [], "B": []}
            counters = {"A": IndexCounter(), "B": IndexCounter()}
            for r in range(rounds):
                for side in (("A", "B") if r % 2 == 0 else ("B", "A")):
                    ops, group = sides[side]
                    op = ops[name][0]
                    cpu0 = app_cpu.worker_cpu(self.groups, group)
                    n, errors = await app_cpu.closed_round(op, counters[side].take(0), app_cpu.ROUND_OPS,
                                                           app_cpu.ROUND_SECONDS)
                    counters[side].take(n)
                    cpu1 = app_cpu.worker_cpu(self.groups, group)
                    if errors:
                        raise RuntimeError(f"{name} on {side}: {len(errors)} errors, e.g. {errors[0]}")
                    per_side[side].append(1000 * (cpu1 - cpu0) / n)
            a, b = statistics.median(per_side["A"]), statistics.median(per_side["B"])
            figures[name] = (a, b)
            for side, (_, group) in sides.items():
                root = self.groups.roots[group]
                rss = max(procstats.memory_mb(p)["rss_mb"] for p in self.groups.pids()[group] if p != root)
                self.largest_rss[side] = max(self.largest_rss.get(side, 0.0), rss)
            say(f"{name}: this tree {a:.3f} ms, B {b:.3f} ms: {a / b:.2f}×  "
                f"(A rounds {[round(x, 2) for x in per_side['A']]}, B {[round(x, 2) for x in per_side['B']]})")
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the commit beside this tree (B)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each side per scenario")
    parser.add_argument("--only", default=",".join(READS), help="comma-separated read scenarios")
    parser.add_argument("--env-b", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable of B's app only (e.g. a setting against the same commit)")
    args = parser.parse_args()
    env_b = dict(item.split("=", 1) for item in args.env_b)
    rev = short_commit(ROOT, args.rev)
    names = [n for n in args.only.split(",") if n]
    bench_args = argparse.Namespace(workers=2, in_place=False, keep_run_dir=False, out="/tmp/taskboard-ab",
                                    only="app-cpu", profile=False, point_seconds=6.0, budget=840.0)
    bench = SideBySide(bench_args)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        bench.start()
        bench.start_b(rev, env_b)
        figures = loadgen.run(bench.compare(names, args.rounds))
    finally:
        bench.stop()
    print(f"\n| scenario | this tree ms | {rev} ms | ÷ |\n|---|---:|---:|---:|")
    for name, (a, b) in figures.items():
        print(f"| {name} | {a:.3f} | {b:.3f} | {a / b:.2f}× |")
    rss = bench.largest_rss
    print(f"| largest worker RSS after each scenario, MB | {rss['A']:.1f} | {rss['B']:.1f} | {rss['A'] / rss['B']:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
