"""The benchmark's machinery, shared by bench/run.py (`make bench`) and bench/stacks.py (both data tiers):
the pinned extras (requirements-bench.txt, installed into this venv when missing), and ``Bench``, one stack
under test with its scenarios and measures."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
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
from common import FRACTIONS, StackDied, say  # noqa: E402  (no third-party imports)


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

import procstats  # noqa: E402
from benchstack import bench_stack_class, distinct_free_ports, load_devstack, short_commit, snapshot  # noqa: E402
from app_cpu import AppCpu  # noqa: E402
from measures import Measures  # noqa: E402
from points import LoadPoints  # noqa: E402
from seeding import Seeding  # noqa: E402
from scenarios import Scenarios  # noqa: E402


class Bench(LoadPoints, Seeding, Measures, Scenarios, AppCpu):
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
        self.floor_proc: subprocess.Popen | None = None
        self.floor_port = devstack.free_port()
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

    @property
    def floor_url(self) -> str:
        return f"http://127.0.0.1:{self.floor_port}"

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
        self.variants_proc = self.start_bench_app("variants", self.variants_port, env)
        self.floor_proc = self.start_bench_app("floor", self.floor_port, env)
        roots = {
            "taskboard": self.stack.procs["taskboard"].pid,
            "daprd-taskboard": self.stack.procs["daprd-taskboard"].pid,
            "notification-service": self.stack.procs["notification-service"].pid,
            "daprd-notification-service": self.stack.procs["daprd-notification-service"].pid,
            "redis": self.stack.procs["redis"].pid,
            "scheduler": self.stack.procs["scheduler"].pid,
            "variants": self.variants_proc.pid,
            "floor": self.floor_proc.pid,
        }
        self.groups = procstats.Groups(roots)
        self.peak_memory: dict[str, float] = {}
        self.peak_worker: dict[str, dict[str, float]] = {}

    def start_bench_app(self, module: str, port: int, env: dict) -> subprocess.Popen:
        """bench/<module>.py's ``app`` under gunicorn with the app's gunicorn.conf.py, once it answers /healthz."""
        proc = self.start_gunicorn(module, f"{module}:app", port, env, self.src, pythonpath=BENCH)
        say(f"benchmark app bench/{module}.py up on http://127.0.0.1:{port}")
        return proc

    def start_gunicorn(self, name: str, target: str, port: int, env: dict, src: Path, pythonpath: Path | None = None,
                       timeout: float = 60.0) -> subprocess.Popen:
        """``target`` (module:app) under gunicorn with ``src``'s gunicorn.conf.py on ``port``, logging to
        <logs>/<name>.log; returns once it answers /healthz (RuntimeError if it exits or ``timeout`` passes)."""
        log_path = self.stack.logs_dir / f"{name}.log"
        command = [sys.executable, "-m", "gunicorn", "-c", str(src / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
                   *(["--pythonpath", str(pythonpath)] if pythonpath else []), target]
        proc = subprocess.Popen(command, env=env, cwd=src, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return proc
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start; see {log_path}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in (self.variants_proc, self.floor_proc):
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
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
        for name, proc in (("variants", self.variants_proc), ("floor", self.floor_proc)):
            if proc.poll() is not None:
                dead[name] = proc.returncode
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

    async def measured_scenarios(self) -> None:
        """What runs between the counters and the closing memory figures: event latency and every scenario."""
        if not self.args.only or "events" in self.args.only.split(","):
            await self.guard(self.event_latency())
        await self.scenarios()

    async def main(self) -> None:
        await self.seed()
        self.results["memory_idle"] = self.note_memory()
        if self.wanted("counters"):
            await self.guard(self.calls_per_page())
            await self.guard(self.calls_per_write())
        if self.wanted("app-cpu"):
            await self.app_cpu_scenarios()
        await self.measured_scenarios()
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
