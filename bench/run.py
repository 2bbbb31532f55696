"""`make bench`: Taskboard's performance, from the sidecar's limit to the full stack.

Starts the stack through scripts/devstack.py (free ports, a temporary run
directory, gunicorn with 2 workers × 8 threads (gunicorn.conf.py), ENV=production, app and API
tokens), plus bench/variants.py under the same gunicorn settings; seeds users
and tasks through the app's own forms; then offers load at constant arrival
rates (open model, bench/loadgen.py) and writes

    bench/results/results.json   every number
    bench/results/results.md     the tables
    bench/results/latency.png    latency vs offered load

Then (unless --no-baseline) a second stack from `git archive <--baseline rev>` (default 3b7f4fc, before
issue 17) runs page-create, page-complete, page-list1000 and the counters: results.md shows after ÷ before.

Run with `make bench` or `.venv/bin/python bench/run.py [--point-seconds 8]`.
See bench/README.md for what each scenario measures and how to read it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
REQUIREMENTS = ROOT / "requirements-bench.txt"


sys.path.insert(0, str(BENCH))
from common import FRACTIONS, T_START, StackDied, say  # noqa: E402  (no third-party imports)


def ensure_requirements() -> None:
    """pip-install requirements-bench.txt into this venv when a module is missing."""
    missing = []
    for module in ("aiohttp", "redis", "matplotlib", "uvloop"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if not Path(sys.executable).with_name("py-spy").exists():
        missing.append("py-spy")
    if not missing:
        return
    say(f"installing {REQUIREMENTS.name} into {sys.prefix} (missing: {', '.join(missing)})")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", str(REQUIREMENTS)], check=True)
    importlib.invalidate_caches()


ensure_requirements()

import redis  # noqa: E402

import baseline  # noqa: E402
import loadgen  # noqa: E402
import procstats  # noqa: E402
import report  # noqa: E402
from benchstack import bench_stack_class, distinct_free_ports, load_devstack, short_commit, snapshot  # noqa: E402
from measures import Measures  # noqa: E402
from points import LoadPoints  # noqa: E402
from seeding import Seeding  # noqa: E402
from scenarios import Scenarios  # noqa: E402


class Bench(LoadPoints, Seeding, Measures, Scenarios):
    LOGS = "logs"  # under --out: the stack's logs when something failed

    def __init__(self, args, rev: str | None = None):
        self.args = args
        self.rev = rev  # a commit to run instead of the work tree (git archive)
        self.run_dir = Path(tempfile.mkdtemp(prefix="taskboard-bench-"))
        if args.in_place and not rev:
            self.src = ROOT
        else:
            # A copy of the work tree (or of a commit): edits made while the benchmark runs (daprd restarts
            # itself when components/ or its config file change) do not reach the processes under test.
            self.src = snapshot(ROOT, self.run_dir / "src", rev)
        devstack = load_devstack(self.src)
        self.api_token = secrets.token_urlsafe(16)
        self.stack = bench_stack_class(devstack)(
            self.run_dir / "stack", distinct_free_ports(devstack), workers=args.workers,
            app_token=secrets.token_urlsafe(16), api_token=self.api_token,
            daprd_log_level="warn",
            # Production settings; access logs off because devstack pumps every log line
            # through a thread of *this* process, which also generates the load.
            app_env={"TASKBOARD_ENV": "production", "GUNICORN_ACCESS_LOG": "0"})
        self.variants_proc: subprocess.Popen | None = None
        self.variants_port = devstack.free_port()
        self.results: dict = {"scenarios": {}, "failures": [], "warnings": []}
        self.redis: redis.Redis | None = None

    # addresses
    @property
    def tb(self):
        return self.stack.ports.apps["taskboard"]

    @property
    def app_url(self) -> str:
        return self.stack.url("taskboard")

    @property
    def sidecar(self) -> str:
        return f"http://127.0.0.1:{self.tb.http}/v1.0"

    @property
    def variants_url(self) -> str:
        return f"http://127.0.0.1:{self.variants_port}"

    def dapr_headers(self) -> dict[str, str]:
        return {"dapr-api-token": self.api_token}

    def start(self) -> None:
        say(f"starting the stack from {self.src} in {self.run_dir} (gunicorn workers={self.args.workers})")
        self.stack.start()
        say(f"stack up: taskboard {self.app_url}, its daprd http {self.tb.http} grpc {self.tb.grpc} "
            f"metrics {self.tb.metrics}, redis {self.stack.ports.redis}")
        self.redis = redis.Redis(host="127.0.0.1", port=self.stack.ports.redis)
        env = {**os.environ, "DAPR_GRPC_PORT": str(self.tb.grpc), "DAPR_HTTP_PORT": str(self.tb.http),
               "DAPR_API_TOKEN": self.api_token, "BENCH_REDIS_PORT": str(self.stack.ports.redis),
               "WEB_CONCURRENCY": str(self.args.workers), "GUNICORN_ACCESS_LOG": "0",
               "PYTHONUNBUFFERED": "1", "TASKBOARD_METRICS_PORT": "0"}  # no metrics server: not measured
        log = open(self.stack.logs_dir / "variants.log", "ab")
        self.variants_proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(self.src / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.variants_port}", "--pythonpath", str(BENCH), "variants:app"],
            env=env, cwd=self.src, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.variants_proc.poll() is not None:
                raise RuntimeError(f"variants app exited; see {self.stack.logs_dir / 'variants.log'}")
            try:
                with urllib.request.urlopen(f"{self.variants_url}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        say(f"benchmark variants app (bench/variants.py) up on {self.variants_url}")
        roots = {
            "taskboard": self.stack.procs["taskboard"].pid,
            "daprd-taskboard": self.stack.procs["daprd-taskboard"].pid,
            "notification-service": self.stack.procs["notification-service"].pid,
            "daprd-notification-service": self.stack.procs["daprd-notification-service"].pid,
            "redis": self.stack.procs["redis"].pid,
            "scheduler": self.stack.procs["scheduler"].pid,
            "variants": self.variants_proc.pid,
        }
        self.groups = procstats.Groups(roots)
        self.peak_memory: dict[str, float] = {}
        self.peak_worker: dict[str, dict[str, float]] = {}

    def stop(self) -> None:
        if self.variants_proc and self.variants_proc.poll() is None:
            os.killpg(self.variants_proc.pid, signal.SIGTERM)
            try:
                self.variants_proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.variants_proc.pid, signal.SIGKILL)
        say("stopping the stack")
        self.stack.stop()
        if self.args.keep_run_dir:
            say(f"run directory (logs) kept in {self.run_dir}")
        else:
            logs = Path(self.args.out) / self.LOGS
            if self.results.get("failures"):
                shutil.rmtree(logs, ignore_errors=True)
                shutil.copytree(self.stack.logs_dir, logs)
                say(f"something failed: logs copied to {logs}")
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # -- measurements helpers -----------------------------------------------

    def cpu_snapshot(self) -> dict[str, float]:
        snap = self.groups.cpu()
        snap["load generator"] = procstats.cpu_seconds([os.getpid()])
        snap["machine"] = procstats.machine_busy_seconds()
        return snap

    def check_alive(self) -> None:
        """Stop the run when a process of the stack died: what follows would measure nothing."""
        dead = {n: p.returncode for n, p in self.stack.procs.items() if p.poll() is not None}
        if self.variants_proc.poll() is not None:
            dead["variants"] = self.variants_proc.returncode
        if dead:
            raise StackDied(f"process(es) of the stack exited: {dead}; see the logs")

    def note_memory(self) -> dict:
        mem = self.groups.memory()
        for name, m in mem.items():
            self.peak_memory[name] = max(self.peak_memory.get(name, 0), m["rss_mb"])
            # gunicorn groups: the largest worker (the root process is the master)
            workers = [p for p in m["processes"] if p["pid"] != self.groups.roots[name]]
            if "gunicorn" in (m["processes"][0]["cmd"] if m["processes"] else "") and workers:
                peak = self.peak_worker.setdefault(name, {"rss_mb": 0.0, "pss_mb": 0.0, "uss_mb": 0.0})
                for key in peak:
                    peak[key] = max(peak[key], max(p[key] for p in workers))
        return mem

    def backlog(self) -> int:
        """Messages published but not yet acknowledged by a subscriber (all Redis streams)."""
        waiting = 0
        for stream in self.redis.scan_iter(_type="STREAM"):
            info = self.redis.xinfo_stream(stream)
            for group in self.redis.xinfo_groups(stream):
                waiting += group["pending"]
                if group["last-delivered-id"] != info["last-generated-id"]:
                    waiting += group.get("lag") or 1
        return waiting

    async def drain(self, what: str, timeout: float = 30.0) -> float:
        """Wait until subscribers caught up, so one scenario's events do not load the next."""
        start = time.monotonic()
        first = self.backlog()
        while time.monotonic() - start < timeout:
            if self.backlog() == 0:
                took = time.monotonic() - start
                if first:
                    say(f"  event backlog after {what}: {first} messages, drained in {took:.1f}s")
                return took
            await asyncio.sleep(0.2)
        self.warn(f"event backlog after {what} not drained within {timeout:.0f}s ({self.backlog()} left): "
                  "the next measurement shares the machine with its processing")
        return timeout

    def warn(self, message: str) -> None:
        say(f"warning: {message}")
        self.results["warnings"].append(message)

    def failure(self, message: str) -> None:
        say(f"FAILED: {message}")
        self.results["failures"].append(message)

    async def guard(self, coro) -> None:
        """Run one scenario; a failure is recorded and the run goes on (unless the stack died)."""
        try:
            await coro
        except StackDied:
            raise
        except Exception as err:  # noqa: BLE001 - a benchmark reports every failure and carries on
            self.failure(f"{type(err).__name__}: {err}")

    async def main(self) -> None:
        await self.seed()
        self.results["memory_idle"] = self.note_memory()
        await self.calls_per_page()
        await self.calls_per_write()
        if not self.args.only or "events" in self.args.only.split(","):
            await self.guard(self.event_latency())
        await self.scenarios()
        self.results["memory_end"] = self.note_memory()
        self.results["memory_peak_rss_mb"] = self.peak_memory
        self.results["memory_peak_worker_mb"] = self.peak_worker


def environment(bench: Bench) -> dict:
    rev = getattr(bench, "rev", None)
    commit = short_commit(ROOT, rev or "HEAD")
    dirty = not rev and bool(subprocess.run(["git", "status", "--porcelain", "webapp", "templates"], cwd=ROOT,
                                            capture_output=True, text=True).stdout.strip())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "git_commit": commit + (" (webapp/templates modified)" if dirty else ""),
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "daprd": bench.stack.daprd_version(),
        "gunicorn": f"{bench.args.workers} workers × {os.environ.get('GUNICORN_THREADS', '8')} threads (gthread)",
        "point_seconds": bench.args.point_seconds, "fractions_of_calibration": list(FRACTIONS),
        "load_generator": "bench/loadgen.py: asyncio + aiohttp (uvloop), open model, latency from scheduled start",
    }


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    stack = os.environ.get("TASKBOARD_STACK") or "redis"
    if stack != "redis":
        # This benchmark also reads Redis itself (bench/variants.py, Redis commands, stream backlog); on
        # another data tier it runs bench/stacks.py's full-stack scenarios (results/stacks-<stack>.md).
        import stacks
        return stacks.main(["--stacks", stack, *sys.argv[1:]])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point-seconds", type=float, default=6.0, help="length of each load point")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each app")
    parser.add_argument("--budget", type=float, default=840.0,
                        help="seconds: a scenario of the main stack that would end later is skipped")
    parser.add_argument("--baseline", default=baseline.DEFAULT_REV, metavar="REV",
                        help="also run page-create, page-complete, page-list1000 and the counters on a second stack "
                             "started from `git archive REV` (default: %(default)s, before issue 17)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_const", const="",
                        help="skip the baseline stack")
    parser.add_argument("--rev", default="",
                        help="run the main stack from `git archive REV` instead of the work tree")
    parser.add_argument("--only", default="", help="comma-separated scenario names or prefixes (default: all)")
    parser.add_argument("--keep-run-dir", action="store_true", help="keep the stack's run directory and logs")
    parser.add_argument("--in-place", action="store_true",
                        help="run the work tree itself, not a copy taken at start (edits during the run reach it)")
    parser.add_argument("--out", default=str(RESULTS), help="where results go")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the extra py-spy point of each full-stack scenario")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    load1 = os.getloadavg()[0]
    if load1 > 1.5:
        say(f"warning: the machine is busy before the start (load average {load1:.1f} on {os.cpu_count()} CPUs); "
            "see the 'other procs' CPU column")
    for option, rev in (("--baseline", args.baseline), ("--rev", args.rev)):
        try:
            rev and short_commit(ROOT, rev)  # fail now, not after the main run, when it names no commit
        except subprocess.CalledProcessError:
            parser.error(f"{option} {rev}: no such commit in this clone (shallow? `git fetch --unshallow`), "
                         "or pass --no-baseline")
    bench = Bench(args, rev=args.rev or None)
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    try:
        bench.start()
        bench.results["environment"] = {**environment(bench), "load_average_before_start": round(load1, 2)}
        loadgen.run(bench.main())
    except KeyboardInterrupt:
        bench.failure("interrupted")
        status = 130
    except Exception as err:  # noqa: BLE001
        bench.failure(f"{type(err).__name__}: {err}")
        status = 1
    finally:
        bench.results["runtime_s"] = round(time.monotonic() - T_START, 1)
        bench.stop()
    if args.baseline and status != 130:
        try:
            bench.results["baseline"] = baseline.measure(Bench, args, args.baseline, environment)
        except KeyboardInterrupt:
            bench.failure("interrupted during the baseline")
            status = 130
        failed = bench.results.get("baseline", {}).get("failures", [])
        bench.results["failures"] += [f"baseline: {f}" for f in failed]
    bench.results["runtime_s"] = round(time.monotonic() - T_START, 1)
    (out / "results.json").write_text(json.dumps(bench.results, indent=2))
    try:
        report.write(bench.results, out)
    except Exception as err:  # noqa: BLE001
        say(f"FAILED to write the report: {type(err).__name__}: {err}")
        status = status or 1
    say(f"results in {out}/results.md, results.json, latency.png ({bench.results['runtime_s']:.0f}s in all)")
    if bench.results["warnings"]:
        say(f"{len(bench.results['warnings'])} warning(s): " + "; ".join(bench.results["warnings"][:10]))
    if bench.results["failures"]:
        say(f"{len(bench.results['failures'])} failure(s): " + "; ".join(bench.results["failures"][:10]))
    return status


if __name__ == "__main__":
    sys.exit(main())
