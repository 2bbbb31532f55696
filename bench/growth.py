"""`make bench-growth`: what registration, the list page and background work cost as users grow.

Starts the stack like bench/run.py (devstack from a snapshot of the tree, one
replica of each app, ENV=production, app and API tokens), without the periodic
`cron` and `relay` bindings (the benchmark triggers one simulated hour of them
itself); seeds users with 5 tasks each straight through daprd's HTTP state API
(bench/growth_seed.py); measures at each size (bench/growth_measure.py) and writes

    bench/results/growth.json   every number
    bench/results/growth.md     the figures at each size and their ratios

Run: `.venv/bin/python bench/growth.py [--users 1000,100000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

try:
    import aiohttp  # noqa: F401
    import redis
except ImportError:  # like bench/run.py: the benchmark's pinned extras, into this venv
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", str(ROOT / "requirements-bench.txt")], check=True)
    import redis

import growth_measure as gm  # noqa: E402
import growth_report  # noqa: E402
import growth_seed  # noqa: E402
import procstats  # noqa: E402
from benchstack import SNAPSHOT_IGNORE, bench_stack_class, distinct_free_ports, load_devstack  # noqa: E402
from common import T_START, say  # noqa: E402

STACK_GROUPS = ("taskboard", "daprd-taskboard", "notification-service", "daprd-notification-service",
                "redis", "scheduler")


class Growth:
    def __init__(self, args):
        self.args = args
        self.run_dir = Path(tempfile.mkdtemp(prefix="taskboard-growth-"))
        self.src = self.run_dir / "src"
        shutil.copytree(ROOT, self.src, ignore=SNAPSHOT_IGNORE, symlinks=True)
        components = self.run_dir / "components"  # the bindings' schedule is simulated, not run
        shutil.copytree(self.src / "components", components, ignore=shutil.ignore_patterns("cron.yaml", "relay.yaml"))
        devstack = load_devstack(self.src)
        self.api_token, self.app_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.stack = bench_stack_class(devstack)(
            self.run_dir / "stack", distinct_free_ports(devstack), workers=2, app_token=self.app_token,
            api_token=self.api_token, daprd_log_level="warn", components_dir=components,
            app_env={"TASKBOARD_ENV": "production", "GUNICORN_ACCESS_LOG": "0"},
            stack="redis")  # it seeds and reads Redis itself
        self.headers = {"dapr-api-token": self.api_token}
        self.results: dict = {"sizes": {}, "failures": []}

    @property
    def app_url(self) -> str:
        return self.stack.url("taskboard")

    @property
    def sidecar(self) -> str:
        return f"http://127.0.0.1:{self.stack.ports.apps['taskboard'].http}/v1.0"

    def start(self) -> None:
        say(f"starting the stack from {self.src} (bindings cron/relay left out: their hour is simulated)")
        self.stack.start()
        self.redis = redis.Redis(host="127.0.0.1", port=self.stack.ports.redis)
        self.groups = procstats.Groups({name: self.stack.procs[name].pid for name in STACK_GROUPS})
        say(f"stack up: taskboard {self.app_url}, redis {self.stack.ports.redis}")

    def stop(self) -> None:
        self.stack.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    # -- helpers the measurements use ---------------------------------------

    def scrape(self) -> dict[str, float]:
        out = {}
        for app in ("taskboard", "notification-service"):
            port = self.stack.ports.apps[app].metrics
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                for line in resp.read().decode().splitlines():
                    if line.startswith("dapr_grpc_io_server_completed_rpcs{"):
                        labels, _, value = line.partition("{")[2].rpartition("} ")
                        method = [p.split("=", 1)[1].strip('"') for p in labels.split(",")
                                  if p.startswith("grpc_server_method=")][0].rsplit("/", 1)[-1]
                        key = f"{app} grpc {method}"
                        out[key] = out.get(key, 0) + float(value)
        return out

    def stack_cpu(self) -> float:
        return sum(self.groups.cpu().values())

    def delete_lease(self, name: str) -> None:
        """Straight in Redis (Dapr's key is ``<app id>||<key>``): no sidecar call, so none is counted."""
        self.redis.delete(f"taskboard||lease:{name}")

    async def hold_lease(self, name: str, ttl: int) -> None:
        """Hold ``lease:<name>`` as another replica would (through the sidecar's HTTP API, not counted)."""
        import aiohttp
        self.delete_lease(name)  # the app wrote it first-write: an ETag-less write over it is refused
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.sidecar}/state/statestore", headers=self.headers, json=[
                    {"key": f"lease:{name}", "value": {"host": "growth-benchmark", "expires_at": (
                        datetime.now(timezone.utc) + timedelta(seconds=ttl)).isoformat()},
                     "metadata": {"ttlInSeconds": str(ttl)},
                     "options": {"concurrency": "first-write"}}]) as resp:
                assert resp.status in (200, 204), await resp.text()

    def redis_count(self, keys: list[str]) -> int:
        return self.redis.exists(*[f"taskboard||{k}" for k in keys])

    async def drain(self, timeout: float = 30) -> None:
        """Until every Redis stream's consumer groups have nothing pending (events of the work handled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = 0
            for stream in self.redis.scan_iter(_type="STREAM"):
                last = self.redis.xinfo_stream(stream)["last-generated-id"]
                for group in self.redis.xinfo_groups(stream):
                    waiting += group["pending"] + (group["last-delivered-id"] != last)
            if not waiting:
                return
            await asyncio.sleep(0.2)

    # -- the run --------------------------------------------------------------

    async def main(self) -> None:
        seeded: list[str] = []
        for size in self.args.sizes:
            t0 = time.monotonic()
            say(f"growing to {size:,} users ({size - len(seeded):,} more, "
                f"{growth_seed.TASKS_PER_USER} tasks each) through daprd's HTTP state API")
            new = await growth_seed.seed_users(self.sidecar, self.headers, len(seeded), size - len(seeded))
            await growth_seed.add_to_shards(self.sidecar, self.headers, new)
            seeded += new
            seed_s = round(time.monotonic() - t0, 1)
            say(f"measuring at {size:,} users")
            res = self.results["sizes"][str(size)] = {
                "users": size, "tasks": size * growth_seed.TASKS_PER_USER, "seed_s": seed_s,
                "redis_keys": self.redis.dbsize()}
            # Each part is written as soon as it is measured.
            res["registration_ms"] = await gm.registration(self, size)
            res["list_page_ms"] = await gm.list_page(self)
            self.write()
            res["jobs_due"] = await gm.jobs_due(self, new[-self.args.jobs:], self.args.jobs)
            self.write()
            res["background"] = await gm.background_hour(self, size, self.write)
            res["measure_s"] = round(time.monotonic() - t0 - seed_s, 1)
            self.write()

    def write(self) -> None:
        self.results["runtime_s"] = round(time.monotonic() - T_START, 1)
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "growth.json").write_text(json.dumps(self.results, indent=2))
        (out / "growth.md").write_text(growth_report.render(self.results))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="1000,100000", help="comma-separated sizes, ascending")
    parser.add_argument("--jobs", type=int, default=100, help="overdue jobs due in the jobs window")
    parser.add_argument("--out", default=str(BENCH / "results"), help="where growth.md / growth.json go")
    args = parser.parse_args()
    args.sizes = sorted(int(s.replace("_", "")) for s in args.users.split(","))
    growth = Growth(args)
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    try:
        growth.start()
        growth.results["environment"] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cpus": os.cpu_count(),
                                         "daprd": growth.stack.daprd_version(), "sizes": args.sizes}
        asyncio.run(growth.main())
    except KeyboardInterrupt:
        growth.results["failures"].append("interrupted")
        status = 130
    except Exception as err:  # noqa: BLE001 - a benchmark reports what failed and keeps what it measured
        say(f"FAILED: {type(err).__name__}: {err}")
        growth.results["failures"].append(f"{type(err).__name__}: {err}")
        status = 1
    finally:
        growth.stop()
    growth.write()
    say(f"results in {args.out}/growth.md, growth.json ({growth.results['runtime_s']:.0f}s in all)")
    return status


if __name__ == "__main__":
    sys.exit(main())
