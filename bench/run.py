"""`make bench`: Taskboard's performance, from the sidecar's limit to the full stack.

Starts the stack through scripts/devstack.py (free ports, a temporary run
directory, gunicorn with 2 workers × 4 threads, ENV=production, app and API
tokens), plus bench/variants.py under the same gunicorn settings; seeds users
and tasks through the app's own forms; then offers load at constant arrival
rates (open model, bench/loadgen.py) and writes

    bench/results/results.json   every number
    bench/results/results.md     the tables
    bench/results/latency.png    latency vs offered load

Run with `make bench` or `.venv/bin/python bench/run.py [--point-seconds 8]`.
See bench/README.md for what each scenario measures and how to read it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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
T_START = time.monotonic()


def say(message: str) -> None:
    print(f"[bench {time.monotonic() - T_START:6.1f}s] {message}", flush=True)


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
sys.path.insert(0, str(BENCH))

import aiohttp  # noqa: E402
import redis  # noqa: E402

import loadgen  # noqa: E402
import profiling  # noqa: E402
import procstats  # noqa: E402
import report  # noqa: E402
import summaries  # noqa: E402
import variants  # noqa: E402
import webclient  # noqa: E402

FRACTIONS = (0.25, 0.5, 0.8, 1.1)  # offered load as fractions of the calibrated capacity
PROFILE_FRACTION = 0.5  # the extra, profiled point of a full-stack scenario (not in the tables)
N_CREATE_USERS = 64  # creates spread over this many users (index contention of a busy team, not of one user)


# -- the stack ---------------------------------------------------------------

def distinct_free_ports(devstack):
    """Ports.free() can hand out the same port twice (each socket is closed before the next bind): retry."""
    for _ in range(50):
        ports = devstack.Ports.free()
        flat = [v for k, v in dataclasses.asdict(ports).items() if k != "apps"]
        flat += [p for app in ports.apps.values() for p in dataclasses.astuple(app)]
        if len(flat) == len(set(flat)):
            return ports
    raise RuntimeError("could not get distinct free ports")


SNAPSHOT_IGNORE = shutil.ignore_patterns(".git", ".venv", ".run", "test-artifacts", "results", "__pycache__",
                                         ".pytest_cache", "node_modules", "*.pyc")


def load_devstack(root: Path):
    """scripts/devstack.py of ``root``: its stack runs the code, components and config under ``root``."""
    spec = importlib.util.spec_from_file_location("devstack", root / "scripts" / "devstack.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["devstack"] = module
    spec.loader.exec_module(module)
    return module


def bench_stack_class(devstack):
    """devstack.Stack whose start-up probes also present the Dapr API token.

    With ``api_token`` set, daprd answers 401 to calls without ``dapr-api-token``; devstack's
    "app reachable through the other sidecar" probe sends none, so ``start()`` times out.
    """

    class BenchStack(devstack.Stack):
        def _http_ok(self, url: str) -> bool:
            request = urllib.request.Request(url)
            if self.api_token and "/v1.0/invoke/" in url:
                request.add_header("dapr-api-token", self.api_token)
            try:
                with urllib.request.urlopen(request, timeout=2) as resp:
                    return 200 <= resp.status < 300
            except OSError:
                return False

    return BenchStack


async def raw_create_sequence(http, sc: str, h: dict, user: str) -> str | None:
    """What the app's create asks of its sidecar (see bench/variants.py), over daprd's HTTP API."""
    task = variants.new_task(user)
    event = variants.task_event(task, "1")
    tkey = f"task:{task['id']}"
    for _ in range(variants.INDEX_RETRIES):
        async with http.get(f"{sc}/state/statestore/tasks-of:{user}", headers=h) as resp:
            body = await resp.read()
            etag = resp.headers.get("ETag")
        index_op = {"key": f"tasks-of:{user}", "value": variants.indexed(json.loads(body or b"null"), task)}
        if etag:
            index_op["etag"] = etag
        txn = {"operations": [
            {"operation": "upsert", "request": {"key": tkey, "value": variants.with_outbox(task, [event])}},
            {"operation": "upsert", "request": index_op}]}
        async with http.post(f"{sc}/state/statestore/transaction", json=txn, headers=h) as resp:
            text = await resp.text()
            if resp.status in (200, 204):
                break
            if "failed to set key" in text:
                continue
            return f"transaction HTTP {resp.status}"
    else:
        return "index conflict"
    # the flush: read the task, publish its outbox, save it emptied (ETag-guarded)
    async with http.get(f"{sc}/state/statestore/{tkey}", headers=h) as resp:
        document = json.loads(await resp.read())
        etag = resp.headers.get("ETag")
    for pending in document["outbox"]:
        params = {f"metadata.{k}": v for k, v in variants.publish_metadata(pending).items()}
        async with http.post(f"{sc}/publish/pubsub/task-events", json=pending, params=params,
                             headers=h) as resp:
            await resp.read()
            if resp.status not in (200, 204):
                return f"publish HTTP {resp.status}"
    save = [{"key": tkey, "value": {**document, "outbox": []}, "etag": etag,
             "options": {"concurrency": "first-write", "consistency": "strong"}}]
    async with http.post(f"{sc}/state/statestore", json=save, headers=h) as resp:
        await resp.read()
        return None if resp.status in (200, 204) else f"save HTTP {resp.status}"


class Bench:
    def __init__(self, args):
        self.args = args
        self.run_dir = Path(tempfile.mkdtemp(prefix="taskboard-bench-"))
        if args.in_place:
            self.src = ROOT
        else:
            # A copy of the work tree: edits made while the benchmark runs (daprd restarts itself when
            # components/ or its config file change) do not reach the processes under test.
            self.src = self.run_dir / "src"
            shutil.copytree(ROOT, self.src, ignore=SNAPSHOT_IGNORE, symlinks=True)
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
            logs = Path(self.args.out) / "logs"
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

    async def sweep(self, name: str, title: str, op, *, concurrency: int, group: str,
                    fractions=FRACTIONS, calib_seconds: float = 3.0, index_source=None,
                    before_points=None, drain_between: bool = False) -> dict:
        """Calibrate capacity (closed loop), then offer load at fractions of it (open model)."""
        expected = calib_seconds + len(fractions) * (self.args.point_seconds + 1.5)
        if time.monotonic() - T_START + expected > self.args.budget:
            self.warn(f"{name} skipped: it would end after the time budget of {self.args.budget:.0f}s")
            return {}
        say(f"{name}: {title}")
        entry = {"title": title, "group": group, "points": []}
        self.results["scenarios"][name] = entry
        counter = index_source or _Counter()
        rate, used, errors, windows = await loadgen.closed_capacity(op, concurrency, calib_seconds,
                                                                    start_index=counter.take(0))
        counter.take(used)
        entry["calibration"] = {"closed_loop_concurrency": concurrency, "ops_per_s": round(rate, 1),
                                "operations": used, "errors": errors,
                                "windows_ops_per_s": [round(w, 1) for w in windows]}
        say(f"  calibration: {rate:.1f} ops/s with {concurrency} back-to-back clients (best of "
            + " / ".join(f"{w:.0f}" for w in windows) + ")" + (f"; errors {errors}" if errors else ""))
        if rate <= 0:
            self.failure(f"{name}: no successful operation during calibration ({errors})")
            return entry
        if drain_between:
            await self.drain(f"{name} calibration")
        if before_points:
            await before_points(rate)
        for fraction in fractions:
            offered = max(1.0, round(rate * fraction, 1))
            start_index = counter.take(int(offered * self.args.point_seconds) + 1)
            point = await loadgen.open_point(op, offered, self.args.point_seconds, start_index=start_index,
                                             grace=5.0, probe=lambda: (time.monotonic(), self.cpu_snapshot()))
            (t0, cpu0), (t1, cpu1) = point.probes
            cpu = procstats.cpu_percent(cpu0, cpu1, t1 - t0)  # over the load window only
            cpu["others"] = max(0.0, round(cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine"), 1))
            mem = self.note_memory()
            summary = point.summary()
            summary["fraction_of_calibration"] = fraction
            summary["cpu_percent"] = cpu
            summary["rss_mb"] = {k: v["rss_mb"] for k, v in mem.items()}
            entry["points"].append(summary)
            errs = f", errors {point.errors} {point.error_kinds}" if point.errors else ""
            say(f"  offered {offered:7.1f}/s → {summary['achieved_rps']:7.1f}/s  p50 {summary['p50_ms']} "
                f"p90 {summary['p90_ms']} p99 {summary['p99_ms']} ms{errs}  "
                f"cpu app {cpu.get('taskboard', 0)}% daprd {cpu.get('daprd-taskboard', 0)}% "
                f"variants {cpu.get('variants', 0)}% redis {cpu.get('redis', 0)}% gen {cpu['load generator']}%")
            if point.errors:
                message = f"{name} at {offered}/s: {point.errors} errors {point.error_kinds}"
                overloaded = "not finished within grace" in point.error_kinds or not summaries.served_in_full(summary)
                if overloaded:  # contention (an ETag conflict after every retry) is then a symptom too
                    self.results["warnings"].append(f"overload: {message}")
                else:
                    self.results["failures"].append(message)
            self.check_alive()
            if drain_between:
                await self.drain(f"{name} at {offered}/s")
            await asyncio.sleep(0.5)
        if self.args.profile and group == "full stack":
            await self.profiled_point(name, op, rate, counter, entry)
        return entry

    async def profiled_point(self, name: str, op, rate: float, counter, entry: dict) -> None:
        """One more point at PROFILE_FRACTION of capacity with py-spy on every taskboard worker.

        Not one of the measured points: py-spy takes CPU from the same 2 cores.
        """
        offered = max(1.0, round(rate * PROFILE_FRACTION, 1))
        root = self.groups.roots["taskboard"]
        workers = [p for p in self.groups.pids()["taskboard"] if p != root]
        target = Path(self.args.out) / "profiles" / f"{name}.collapsed"
        running = profiling.start(workers, self.args.point_seconds, target.parent, name)
        await asyncio.sleep(0.5)  # attached before the first request
        start_index = counter.take(int(offered * self.args.point_seconds) + 1)
        point = await loadgen.open_point(op, offered, self.args.point_seconds, start_index=start_index, grace=5.0)
        stacks = await asyncio.to_thread(profiling.finish, running, target)
        entry["profile"] = {"offered_rps": offered, "achieved_rps": point.summary()["achieved_rps"],
                            "errors": point.errors, "workers": len(workers),
                            "file": str(target.relative_to(Path(self.args.out))), **profiling.top(stacks)}
        packages = ", ".join(f"{p} {v}%" for p, v in entry["profile"]["packages"][:5])
        say(f"  profiled {offered}/s on {len(workers)} workers: {entry['profile']['samples']} samples; "
            f"self time by package: {packages}")

    # -- seeding -------------------------------------------------------------

    async def user_id(self, http: aiohttp.ClientSession, username: str) -> str:
        async with http.get(f"{self.sidecar}/state/statestore/username:{username.lower()}",
                            headers=self.dapr_headers()) as resp:
            return (await resp.json())["user_id"]

    async def seed(self) -> None:
        stamp = secrets.token_hex(3)
        names = {"list10": f"b{stamp}l10", "list100": f"b{stamp}l100", "list1000": f"b{stamp}l1000",
                 "events": f"b{stamp}ev"}
        names.update({f"create{i}": f"b{stamp}c{i}" for i in range(N_CREATE_USERS)})
        say(f"registering {len(names)} users through POST /register")
        async with loadgen.new_session(64) as http:
            gate = asyncio.Semaphore(16)

            async def register(name: str) -> webclient.WebUser:
                async with gate:
                    return await webclient.register(http, self.app_url, name)

            users = await asyncio.gather(*(register(n) for n in names.values()))
            self.users = dict(zip(names, users))
            for u in users:
                u.user_id = await self.user_id(http, u.username)
            counts = {"list10": 10, "list100": 100, "list1000": 1000, "events": 40}
            say(f"seeding {sum(counts.values())} tasks through POST /tasks/new "
                f"({', '.join(f'{k}: {v}' for k, v in counts.items())})")
            t0 = time.monotonic()

            async def fill(key: str, count: int) -> list[str]:
                user, ids, queue = self.users[key], [], []

                async def worker():
                    while queue:
                        n = queue.pop()
                        for _attempt in range(3):
                            tid, err = await webclient.create_task(http, self.app_url, user, f"Seeded task {n}")
                            if tid:
                                ids.append(tid)
                                break
                        else:
                            raise webclient.AppError(f"seeding {key}: {err}")

                # The first task alone: concurrent first creates of one user lose index entries (README).
                queue.append(0)
                await worker()
                queue.extend(range(1, count))
                await asyncio.gather(*(worker() for _ in range(4)))
                return ids

            seeded = await asyncio.gather(*(fill(k, c) for k, c in counts.items()))
            self.seeded = dict(zip(counts, seeded))
        say(f"seeded in {time.monotonic() - t0:.1f}s")
        for key, ids in self.seeded.items():
            listed = await self.index_size(self.users[key].user_id)
            if listed != len(ids):
                self.failure(f"seeding {key}: {len(ids)} tasks created but the index lists {listed}")
        self.results["seeding"] = {"users": len(names), "tasks": counts, "seconds": round(time.monotonic() - t0, 1)}
        await self.drain("seeding", timeout=120)

    async def index_size(self, user_id: str) -> int:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{self.sidecar}/state/statestore/tasks-of:{user_id}", headers=self.dapr_headers()) as resp:
                body = await resp.read()
        return len(json.loads(body)["ids"]) if body else 0

    # -- metrics: sidecar calls per page -------------------------------------

    def scrape(self) -> dict[str, float]:
        """API calls (gRPC and HTTP, server side) and state-store operations of both sidecars, by method.

        Keys of the notification-service sidecar start with ``notif:``.
        """
        out = self._scrape(self.tb.metrics, "")
        out.update(self._scrape(self.stack.ports.apps["notification-service"].metrics, "notif:"))
        return out

    def _scrape(self, port: int, prefix: str) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            name, _, rest = line.partition("{")
            labels, _, value = rest.rpartition("} ")
            if name == "dapr_grpc_io_server_completed_rpcs":
                key = "grpc " + _label(labels, "grpc_server_method").rsplit("/", 1)[-1]
            elif name == "dapr_http_server_request_count":
                key = f"http {_label(labels, 'method')} {_label(labels, 'path')}"
            elif name == "dapr_component_state_count":
                key = "statestore " + _label(labels, "operation")
            else:
                continue
            out[prefix + key] = out.get(prefix + key, 0) + float(value)
        return out

    def redis_calls(self) -> dict[str, int]:
        stats = self.redis.info("commandstats")
        return {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}

    async def count_calls(self, label: str, action, n: int, wait_for_events: bool = False) -> dict:
        """daprd API calls and Redis commands per ``action`` (averaged over ``n`` sequential ones)."""
        before, rbefore = self.scrape(), self.redis_calls()
        errors = 0
        async with loadgen.new_session(4) as http:
            for i in range(n):
                errors += await action(http, i) is not None
        if wait_for_events:
            await self.drain(label)
        after, rafter = self.scrape(), self.redis_calls()
        sidecar = {k: round((after.get(k, 0) - before.get(k, 0)) / n, 2) for k in after}
        sidecar = {k: v for k, v in sidecar.items() if v}
        redis_cmds = {k: round((rafter.get(k, 0) - rbefore.get(k, 0)) / n, 2) for k in rafter}
        redis_cmds = {k: v for k, v in redis_cmds.items()
                      if v and k not in ("info", "xreadgroup", "xautoclaim", "xpending", "ping", "scan", "type",
                                         "xinfo|stream", "xinfo|groups", "hello", "client|setinfo")}
        api_calls = sum(v for k, v in sidecar.items() if k.startswith(("grpc ", "http ")))
        notif_calls = sum(v for k, v in sidecar.items() if k.startswith(("notif:grpc ", "notif:http ")))
        say(f"  {label}: {api_calls:.2f} taskboard-sidecar API calls each"
            + (f" (+{notif_calls:.2f} on notification-service's)" if notif_calls else "")
            + f"; {sidecar}; redis {redis_cmds}")
        return {"sidecar_api_calls": round(api_calls, 2), "notification_sidecar_api_calls": round(notif_calls, 2),
                "by_method": sidecar, "redis_commands": redis_cmds, "errors": errors, "samples": n}

    async def calls_per_page(self, pages: int = 20) -> None:
        say(f"counting sidecar calls per list page ({pages} pages per size, metrics at :{self.tb.metrics})")
        await self.drain("before counting")
        out = {}
        for key in ("list10", "list100", "list1000"):
            user = self.users[key]
            async with loadgen.new_session(4) as http:
                await webclient.list_page(http, self.app_url, user)  # warm up

            async def page(http, i, user=user):
                return await webclient.list_page(http, self.app_url, user, expect="Seeded task")

            # Background work (the relay binding reads its list every 10 s, the sweep every 5 min) only adds
            # calls to a window: of three windows, the one with the fewest calls is the page's own count.
            windows = [await self.count_calls(f"list page of {key.removeprefix('list')} tasks", page, pages)
                       for _ in range(3)]
            best = min(windows, key=lambda w: w["sidecar_api_calls"])
            out[key] = {"tasks": int(key.removeprefix("list")), **best,
                        "windows": [w["sidecar_api_calls"] for w in windows]}
        self.results["calls_per_page"] = out

    async def calls_per_write(self, n: int = 20) -> None:
        """Sidecar calls of one create and one complete, including the handling of their events."""
        say(f"counting sidecar calls per create and per complete ({n} each, events handled included)")
        user, made = self.users["create0"], []
        await self.drain("before counting writes")

        async def create(http, i):
            tid, err = await webclient.create_task(http, self.app_url, user, f"Counted task {i}")
            made.append(tid)
            return err

        out = {"create": await self.count_calls("create + its task.created handling", create, n, True)}
        versions = await self.versions([t for t in made if t])

        async def complete(http, i):
            return await webclient.complete_task(http, self.app_url, user, made[i], versions.get(made[i]) or "1")

        out["complete"] = await self.count_calls("complete + task.completed → notify → inbox", complete, n, True)
        self.results["calls_per_write"] = out

    # -- event latency -------------------------------------------------------

    async def event_latency(self, samples: int = 25) -> None:
        say(f"event latency: complete a task, poll inbox:<user id> through daprd until it shows ({samples} samples)")
        user = self.users["events"]
        ids = self.seeded["events"][:samples]
        await self.drain("before event latency")
        versions = await self.versions(ids)
        from_request, from_response, errors = [], [], {}
        clock = time.perf_counter
        async with loadgen.new_session(8) as http:
            for tid in ids:
                t_req = clock()
                err = await webclient.complete_task(http, self.app_url, user, tid, versions[tid])
                t_resp = clock()
                if err:
                    errors[err] = errors.get(err, 0) + 1
                    continue
                seen = None
                while clock() - t_resp < 20:
                    async with http.get(f"{self.sidecar}/state/statestore/inbox:{user.user_id}",
                                        headers=self.dapr_headers()) as resp:
                        body = await resp.read()
                    if body and any(i.get("task_id") == tid for i in json.loads(body).get("items", [])):
                        seen = clock()
                        break
                    await asyncio.sleep(0.005)
                if seen is None:
                    errors["not in inbox within 20s"] = errors.get("not in inbox within 20s", 0) + 1
                    continue
                from_request.append((seen - t_req) * 1000)
                from_response.append((seen - t_resp) * 1000)
                await asyncio.sleep(0.1)
        res = {"samples": len(from_request), "errors": errors, "poll_interval_ms": 5,
               "from_request_start_ms": _pcts(from_request), "from_response_ms": _pcts(from_response)}
        self.results["event_latency"] = res
        say(f"  complete → inbox: {res['from_request_start_ms']} (from the POST's start); errors {errors}")
        if errors:
            self.results["failures"].append(f"event latency: {errors}")

    async def versions(self, task_ids: list[str]) -> dict[str, str]:
        """Current ETags of tasks, in one bulk read through the sidecar."""
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.sidecar}/state/statestore/bulk", headers=self.dapr_headers(),
                                 json={"keys": [f"task:{t}" for t in task_ids], "parallelism": 32}) as resp:
                items = await resp.json()
        return {it["key"].split(":", 1)[1]: it.get("etag") for it in items}

    # -- scenarios -------------------------------------------------------------

    async def scenarios(self) -> None:
        """Every scenario, in order: (a) the limit, (b) the full stack, (c)/(d) the variants."""
        await self.limit_scenarios()
        await self.list_page_scenarios()
        await self.write_scenarios()
        await self.variant_scenarios()

    def wanted(self, name: str) -> bool:
        """Whether --only selects this scenario (all by default)."""
        only = set(self.args.only.split(",")) if self.args.only else None
        return only is None or any(name.startswith(o) for o in only)

    async def limit_scenarios(self) -> None:
        """(a) the limit: daprd straight over HTTP, no Flask."""
        h = self.dapr_headers()
        sc = self.sidecar
        wanted = self.wanted
        read_keys = [f"task:{t}" for t in self.seeded["list100"]]

        async def raw_get(http, i):
            async with http.get(f"{sc}/state/statestore/{read_keys[i % len(read_keys)]}", headers=h) as resp:
                await resp.read()
                return None if resp.status == 200 else f"HTTP {resp.status}"

        raw_prefix = f"rawuser{secrets.token_hex(3)}-"

        async def raw_create(http, i):
            return await raw_create_sequence(http, sc, h, f"{raw_prefix}{i % N_CREATE_USERS}")

        if wanted("sidecar-get"):
            await self.guard(self.sweep("sidecar-get", "daprd HTTP GET /v1.0/state/statestore/task:<id> (no Flask)",
                                        raw_get, concurrency=32, group="limit"))
        if wanted("sidecar-create"):
            await self.guard(self.sweep(
                "sidecar-create", "daprd HTTP, the sidecar calls of the app's create (no Flask): GET index; POST transaction "
                "(task with its event in the outbox + ETag-guarded index); GET task; POST publish task-events; "
                "POST state (outbox emptied, ETag)",
                raw_create, concurrency=32, group="limit", drain_between=True))

    async def list_page_scenarios(self) -> None:
        """(b) the full stack: list pages of 10, 100 and 1,000 tasks."""
        wanted = self.wanted
        for key in ("list10", "list100", "list1000"):
            name = f"page-{key}"
            if not wanted(name):
                continue
            user = self.users[key]

            async def page(http, i, user=user):
                return await webclient.list_page(http, self.app_url, user, expect="Seeded task")

            await self.guard(self.sweep(name, f"GET /tasks of a user with {key.removeprefix('list')} tasks "
                                              "(signed in)",
                                        page, concurrency=16, group="full stack"))

    async def write_scenarios(self) -> None:
        """(b) the full stack: creates through the form, then completes of the tasks they made."""
        wanted = self.wanted
        pool: list[tuple[webclient.WebUser, str]] = []
        creators = [self.users[f"create{i}"] for i in range(N_CREATE_USERS)]

        async def form_create(http, i):
            user = creators[i % len(creators)]
            tid, err = await webclient.create_task(http, self.app_url, user, f"Bench task {i}")
            if tid:
                pool.append((user, tid))
            return err

        if wanted("page-create") or wanted("page-complete"):
            await self.guard(self.sweep("page-create", "POST /tasks/new (form with CSRF token; "
                                        f"{N_CREATE_USERS} users)",
                                        form_create, concurrency=16, group="full stack", drain_between=True))

        if wanted("page-complete"):
            versions: dict[str, str] = {}
            complete_counter = _Counter()

            async def top_up(needed: int) -> None:
                if len(pool) - complete_counter.value < needed:
                    missing = needed - (len(pool) - complete_counter.value)
                    say(f"  creating {missing} more tasks to complete (closed loop)")
                    async with loadgen.new_session(16) as http:
                        queue = list(range(missing))

                        async def worker():
                            while queue:
                                queue.pop()
                                await form_create(http, len(pool) + 10**6)
                        await asyncio.gather(*(worker() for _ in range(16)))
                    await self.drain("creating tasks to complete")
                fresh = [t for _, t in pool if t not in versions]
                if fresh:
                    versions.update(await self.versions(fresh))

            async def form_complete(http, i):
                if i >= len(pool):
                    return "no task left to complete"
                user, tid = pool[i]
                return await webclient.complete_task(http, self.app_url, user, tid, versions.get(tid) or "1")

            async def before_points(rate: float) -> None:
                extra = PROFILE_FRACTION if self.args.profile else 0
                await top_up(int(rate * self.args.point_seconds * (sum(FRACTIONS) + extra) * 1.1) + 50)

            if pool:
                # enough for a 2 s calibration even if completing is twice as fast as creating
                create_rate = self.results["scenarios"]["page-create"]["calibration"]["ops_per_s"]
                await top_up(int(create_rate * 2 * 2) + 100)
                await self.guard(self.sweep(
                    "page-complete", "POST /tasks/<id>/complete (form with CSRF token and version); "
                    "the event chain to the inbox runs behind it",
                    form_complete, concurrency=16, group="full stack", index_source=complete_counter,
                    before_points=before_points, drain_between=True, calib_seconds=2.0))

    async def variant_scenarios(self) -> None:
        """(c) the seeds' pattern vs one client per worker, and (d) direct Redis (bench/variants.py)."""
        wanted = self.wanted
        vu = self.variants_url
        for mode, title in (
                ("percall", "bench/variants.py: a new DaprClient() per request (the seeds' pattern), "
                            "then the create's 5 sidecar calls through the SDK"),
                ("reused", "bench/variants.py: one DaprClient per worker (as webapp), the create's 5 sidecar calls"),
                ("redis", "bench/variants.py: redis-py running Dapr's commands for the same create: HGETALL; "
                          "MULTI EVAL×2 EXEC; HGETALL; XADD; EVAL")):
            name = f"variant-create-{mode}"
            if not wanted(name):
                continue
            prefix = f"v{mode}{secrets.token_hex(3)}-"

            async def vcreate(http, i, mode=mode, prefix=prefix):
                async with http.post(f"{vu}/create/{mode}", params={"user": f"{prefix}{i % N_CREATE_USERS}"}) as resp:
                    body = await resp.read()
                    return None if resp.status == 201 else f"HTTP {resp.status} {body[:80]!r}"

            await self.guard(self.sweep(name, title, vcreate, concurrency=16, group="variants", drain_between=True))

        for key in ("list100", "list1000"):
            for mode, how in (("reused", "through the sidecar (get index, pick a page of 20, bulk get them)"),
                              ("redis", "redis-py (HGETALL index, pick a page of 20, pipelined HGETALL of them)")):
                name = f"variant-{key}-{mode}"
                if not wanted(name):
                    continue
                uid = self.users[key].user_id

                async def vlist(http, i, mode=mode, uid=uid,
                                expected=min(variants.PAGE, int(key.removeprefix("list")))):
                    async with http.get(f"{vu}/list/{mode}", params={"user": uid}) as resp:
                        body = await resp.read()
                        if resp.status != 200:
                            return f"HTTP {resp.status} {body[:80]!r}"
                        return None if json.loads(body)["count"] == expected else "wrong count"

                await self.guard(self.sweep(name, f"bench/variants.py: the list data path of a user with "
                                                  f"{key.removeprefix('list')} tasks, {how}",
                                            vlist, concurrency=16, group="variants"))

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


class StackDied(RuntimeError):
    pass


class _Counter:
    """Hands out consecutive operation indexes, so no task is completed twice."""

    def __init__(self):
        self.value = 0

    def take(self, n: int) -> int:
        start = self.value
        self.value += n
        return start


def _label(labels: str, name: str) -> str:
    for part in labels.split(","):
        k, _, v = part.partition("=")
        if k == name:
            return v.strip('"')
    return ""


def _pcts(values: list[float]) -> dict:
    values = sorted(values)
    return {q: round(loadgen.percentile(values, p), 1) if values else None
            for q, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))}


def environment(bench: Bench) -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "webapp", "templates"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "git_commit": commit + (" (webapp/templates modified)" if dirty else ""),
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "daprd": bench.stack.daprd_version(),
        "gunicorn": f"{bench.args.workers} workers × {os.environ.get('GUNICORN_THREADS', '4')} threads (gthread)",
        "point_seconds": bench.args.point_seconds, "fractions_of_calibration": list(FRACTIONS),
        "load_generator": "bench/loadgen.py: asyncio + aiohttp (uvloop), open model, latency from scheduled start",
    }


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point-seconds", type=float, default=6.0, help="length of each load point")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each app")
    parser.add_argument("--budget", type=float, default=780.0,
                        help="seconds: a scenario that would end later is skipped (the run stays under 15 min)")
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
    bench = Bench(args)
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
