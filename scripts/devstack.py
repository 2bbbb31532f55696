"""The one launcher of the local Taskboard stack.

Starts Redis, the Dapr scheduler, one daprd per app and both apps under
gunicorn, waits until each answers, and stops them all (children first) on
exit. `make run` uses it with fixed ports and readable logs on the console; the
test suite uses it with free ports and log files in a temporary directory.

    python scripts/devstack.py            # what `make run` does
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = {
    # app-id: WSGI target
    "taskboard": "wsgi:app",
    "notification-service": "webapp.notifier:create_app()",
}
COLOURS = {"redis": 31, "scheduler": 35, "daprd-taskboard": 34, "daprd-notification-service": 36,
           "taskboard": 32, "notification-service": 33}


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port below the kernel's ephemeral range (32768+), so no outgoing
    connection can take it between now and when a process binds it."""
    while True:
        port = random.randrange(20000, 32000)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class AppPorts:
    app: int
    http: int
    grpc: int
    internal: int
    metrics: int  # daprd's
    app_metrics: int  # the app's (gunicorn master, TASKBOARD_METRICS_PORT)


@dataclass
class Ports:
    redis: int
    scheduler: int
    scheduler_health: int
    scheduler_metrics: int
    etcd_client: int
    etcd_peer: int
    apps: dict[str, AppPorts] = field(default_factory=dict)

    @classmethod
    def default(cls) -> "Ports":
        """Fixed ports of `make run` (the README lists them)."""
        return cls(redis=6380, scheduler=50006, scheduler_health=50007, scheduler_metrics=50008,
                   etcd_client=52379, etcd_peer=52380,
                   apps={"taskboard": AppPorts(8000, 3500, 50001, 50011, 9090, 9464),
                         "notification-service": AppPorts(8001, 3501, 50002, 50012, 9091, 9465)})

    @classmethod
    def free(cls) -> "Ports":
        """Ephemeral ports for a test session, never colliding with `make run`."""
        return cls(redis=free_port(), scheduler=free_port(), scheduler_health=free_port(),
                   scheduler_metrics=free_port(), etcd_client=free_port(), etcd_peer=free_port(),
                   apps={app: AppPorts(*(free_port() for _ in fields(AppPorts))) for app in APPS})


class StackError(RuntimeError):
    pass


class Stack:
    """Redis + scheduler + (daprd, gunicorn) per app, started and stopped together."""

    def __init__(self, run_dir: Path, ports: Ports, *, console: bool = False,
                 app_token: str | None = None, api_token: str | None = None,
                 workers: int = 2, app_env: dict[str, str] | None = None,
                 daprd_log_level: str = "info", components_dir: Path | None = None):
        self.run_dir = run_dir.resolve()
        self.ports = ports
        self.console = console
        self.app_token = app_token
        self.api_token = api_token
        self.workers = workers
        self.app_env = app_env or {}
        self.daprd_log_level = daprd_log_level
        self.components_dir = components_dir or ROOT / "components"
        self.procs: dict[str, subprocess.Popen] = {}
        self.dapr_bin: Path | None = None
        self.logs_dir = self.run_dir / "logs"

    # -- helpers ---------------------------------------------------------

    def say(self, message: str) -> None:
        print(f"[stack] {message}", file=sys.stderr, flush=True)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.Popen:
        full_env = {**os.environ, **(env or {})}
        log_path = self.logs_dir / f"{name}.log"
        log_file = open(log_path, "ab")
        proc = subprocess.Popen(argv, env=full_env, cwd=cwd or ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._pump, args=(name, proc, log_file), daemon=True).start()
        self.procs[name] = proc
        return proc

    def _pump(self, name: str, proc: subprocess.Popen, log_file) -> None:
        prefix = f"\x1b[{COLOURS.get(name, 37)}m{name:>27} |\x1b[0m " if sys.stdout.isatty() else f"{name:>27} | "
        for line in iter(proc.stdout.readline, b""):
            log_file.write(line)
            log_file.flush()
            if self.console:
                sys.stdout.write(prefix + line.decode(errors="replace"))
                sys.stdout.flush()
        log_file.close()

    def _wait(self, what: str, check, timeout: float = 60.0, proc_name: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc_name and self.procs[proc_name].poll() is not None:
                raise StackError(f"{proc_name} exited with {self.procs[proc_name].returncode}; "
                                 f"see {self.logs_dir / (proc_name + '.log')}")
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise StackError(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.logs_dir}")

    @staticmethod
    def _http_ok(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return 200 <= resp.status < 300
        except (urllib.error.URLError, OSError):
            return False

    # -- provisioning ----------------------------------------------------

    def provision(self) -> None:
        """Find or build daprd/scheduler; find or install redis-server."""
        out = subprocess.run(["bash", str(ROOT / "scripts/provision-dapr.sh")], check=False,
                             stdout=subprocess.PIPE, text=True)
        if out.returncode != 0:
            raise StackError("could not provision the Dapr runtime (see messages above)")
        self.dapr_bin = Path(out.stdout.strip().splitlines()[-1])
        subprocess.run(["bash", str(ROOT / "scripts/ensure-redis.sh")], check=True,
                       stdout=subprocess.DEVNULL)

    def daprd_version(self) -> str:
        return subprocess.run([str(self.dapr_bin / "daprd"), "--version"], capture_output=True,
                              text=True, check=True).stdout.strip().splitlines()[-1]

    def prepare(self) -> None:
        """The run directory daprd works in: components read secrets.json and write deliveries/ there."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "deliveries").mkdir(exist_ok=True)
        self.secrets_file()

    def secrets_file(self) -> Path:
        """The local secret store's file, generated once with a random Flask key."""
        path = self.run_dir / "secrets.json"
        if not path.exists():
            path.write_text(json.dumps({"flask-secret-key": secrets.token_urlsafe(48)}, indent=2))
            path.chmod(0o600)
        return path

    # -- start / stop ----------------------------------------------------

    def start(self) -> "Stack":
        self.prepare()
        if self.dapr_bin is None:
            self.provision()
        try:
            self.start_infrastructure()
            for app_id in APPS:
                self._start_app(app_id)
                self._start_daprd(app_id)
            for app_id, ports in self.ports.apps.items():
                self._wait(f"daprd of {app_id}",
                           lambda p=ports: self._http_ok(f"http://127.0.0.1:{p.http}/v1.0/healthz"),
                           timeout=90, proc_name=f"daprd-{app_id}")
                self._wait(f"{app_id} readiness",
                           lambda p=ports: self._http_ok(f"http://127.0.0.1:{p.app}/readyz"),
                           timeout=60, proc_name=app_id)
            # End to end: each app reachable by app-id through the other's sidecar, which
            # also means each sidecar has seen its app healthy (it refuses to call it before).
            first, second = list(self.ports.apps)
            for caller, callee in ((first, second), (second, first)):
                url = (f"http://127.0.0.1:{self.ports.apps[caller].http}"
                       f"/v1.0/invoke/{callee}/method/healthz")
                self._wait(f"{callee} through daprd of {caller}", lambda u=url: self._http_ok(u), timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def start_infrastructure(self) -> None:
        """Redis and the Dapr scheduler only: what `dapr init` provides to the Dapr CLI."""
        if self.dapr_bin is None:
            self.provision()
        self.prepare()
        self._start_redis()
        self._start_scheduler()

    def _start_redis(self) -> None:
        port = self.ports.redis
        if port_open(port):
            raise StackError(f"port {port} (Redis) is already in use: is another stack running?")
        data = self.run_dir / "redis"
        data.mkdir(exist_ok=True)
        self.say(f"starting redis on 127.0.0.1:{port}")
        self._spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--dir", str(data), "--save", "60 1", "--appendonly", "no",
                              "--protected-mode", "yes", "--loglevel", "warning"])
        self._wait("redis", lambda: port_open(port), timeout=20, proc_name="redis")

    def _start_scheduler(self) -> None:
        p = self.ports
        data = self.run_dir / "scheduler"
        data.mkdir(exist_ok=True)
        self.say(f"starting dapr scheduler on 127.0.0.1:{p.scheduler}")
        self._spawn("scheduler", [
            str(self.dapr_bin / "scheduler"), "--listen-address", "127.0.0.1",
            "--port", str(p.scheduler), "--override-broadcast-host-port", f"localhost:{p.scheduler}",
            "--healthz-port", str(p.scheduler_health), "--healthz-listen-address", "127.0.0.1",
            "--metrics-port", str(p.scheduler_metrics),
            "--etcd-data-dir", str(data), "--etcd-client-port", str(p.etcd_client),
            "--etcd-initial-cluster", f"dapr-scheduler-server-0=http://localhost:{p.etcd_peer}",
            "--log-level", "warn",
        ], cwd=self.run_dir)
        self._wait("scheduler", lambda: self._http_ok(f"http://127.0.0.1:{p.scheduler_health}/healthz"),
                   timeout=60, proc_name="scheduler")

    def sidecar_env(self) -> dict[str, str]:
        env = {
            "TASKBOARD_REDIS_HOST": f"127.0.0.1:{self.ports.redis}",
            "TASKBOARD_REDIS_PASSWORD": "",
        }
        if self.api_token:
            env["DAPR_API_TOKEN"] = self.api_token
        if self.app_token:
            env["APP_API_TOKEN"] = self.app_token
        return env

    def _start_daprd(self, app_id: str) -> None:
        ports = self.ports.apps[app_id]
        self.say(f"starting daprd for {app_id} (http {ports.http}, grpc {ports.grpc})")
        self._spawn(f"daprd-{app_id}", [
            str(self.dapr_bin / "daprd"), "--app-id", app_id, "--app-port", str(ports.app),
            "--app-protocol", "http", "--app-channel-address", "127.0.0.1",
            "--dapr-listen-addresses", "127.0.0.1",
            "--dapr-http-port", str(ports.http), "--dapr-grpc-port", str(ports.grpc),
            "--dapr-internal-grpc-port", str(ports.internal), "--metrics-port", str(ports.metrics),
            "--resources-path", str(self.components_dir), "--config", str(self.components_dir / "config.yaml"),
            "--scheduler-host-address", f"localhost:{self.ports.scheduler}",
            "--placement-host-address", "",
            "--enable-app-health-check", "--app-health-check-path", "/healthz",
            "--app-health-probe-interval", "3", "--dapr-graceful-shutdown-seconds", "5",
            # Deliveries (events, jobs, bindings) never take more than half of the
            # app's request threads, so users are served while a consumer is slow.
            "--app-max-concurrency", "4",
            "--log-level", self.daprd_log_level,
        ], env=self.sidecar_env(), cwd=self.run_dir)  # components' relative paths are in the run dir

    def app_env_for(self, app_id: str) -> dict[str, str]:
        ports = self.ports.apps[app_id]
        env = {
            "DAPR_HTTP_PORT": str(ports.http),
            "DAPR_GRPC_PORT": str(ports.grpc),
            "TASKBOARD_APP_ID": app_id,
            "PORT": str(ports.app),
            "TASKBOARD_METRICS_PORT": str(ports.app_metrics),
            "TASKBOARD_METRICS_ADDRESS": "127.0.0.1",
            # gunicornc -s <run dir>/<app-id>.ctl: one control socket per app, never a shared one.
            "GUNICORN_CONTROL_SOCKET": str(self.run_dir / f"{app_id}.ctl"),
            "WEB_CONCURRENCY": str(self.workers),
            "PYTHONUNBUFFERED": "1",
            **self.app_env,
        }
        if self.api_token:
            env["DAPR_API_TOKEN"] = self.api_token
        if self.app_token:
            env["APP_API_TOKEN"] = self.app_token
        return env

    def _start_app(self, app_id: str) -> None:
        ports = self.ports.apps[app_id]
        self.say(f"starting {app_id} under gunicorn on 127.0.0.1:{ports.app}")
        self._spawn(app_id, [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                             "--bind", f"127.0.0.1:{ports.app}", APPS[app_id]],
                    env=self.app_env_for(app_id))

    def stop(self, name: str | None = None) -> None:
        """Stop one process, or all of them in reverse start order."""
        names = [name] if name else list(reversed(self.procs))
        for n in names:
            proc = self.procs.get(n)
            if proc and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for n in names:
            proc = self.procs.get(n)
            if not proc:
                continue
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            if name is None:
                self.procs.pop(n, None)

    def restart(self, name: str) -> None:
        """Stop and start one process again (fault tests)."""
        self.stop(name)
        if name == "redis":
            self._start_redis()
        elif name == "scheduler":
            self._start_scheduler()
        elif name.startswith("daprd-"):
            self._start_daprd(name.removeprefix("daprd-"))
        else:
            self._start_app(name)

    def url(self, app_id: str = "taskboard") -> str:
        return f"http://127.0.0.1:{self.ports.apps[app_id].app}"

    def metrics_url(self, app_id: str = "taskboard") -> str:
        """Where Prometheus scrapes the app (every worker's metrics): not the app's port."""
        return f"http://127.0.0.1:{self.ports.apps[app_id].app_metrics}/metrics"


def main() -> int:
    parser = argparse.ArgumentParser(description="Start the whole Taskboard stack locally.")
    parser.add_argument("--run-dir", default=str(ROOT / ".run"), help="state, logs and secrets (git-ignored)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--daprd-log-level", default=os.environ.get("DAPRD_LOG_LEVEL", "info"))
    parser.add_argument("--prepare", action="store_true",
                        help="only create the run directory and its secret key (for `dapr run -f .`)")
    args = parser.parse_args()
    if args.prepare:
        Stack(Path(args.run_dir), Ports.default()).prepare()
        print(f"[stack] {Path(args.run_dir).resolve()} is ready for `dapr run -f .`", file=sys.stderr)
        return 0

    stack = Stack(Path(args.run_dir), Ports.default(), console=True, workers=args.workers,
                  app_token=os.environ.get("APP_API_TOKEN") or secrets.token_urlsafe(24),
                  daprd_log_level=args.daprd_log_level)
    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
    except StackError as err:
        print(f"[stack] ERROR: {err}", file=sys.stderr)
        return 1
    stack.say(f"daprd {stack.daprd_version()} — Taskboard is up: {stack.url()}  (Ctrl-C stops everything)")
    stack.say("Prometheus metrics: " + ", ".join(stack.metrics_url(app_id) for app_id in APPS))
    while not stopping.is_set():
        for name, proc in stack.procs.items():
            if proc.poll() is not None:
                stack.say(f"{name} exited with {proc.returncode}; stopping the stack")
                stopping.set()
                break
        stopping.wait(1)
    stack.say("stopping...")
    stack.stop()
    stack.say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
