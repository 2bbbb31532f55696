"""The one launcher of the local Taskboard stack.

Starts the data tier (Redis; or PostgreSQL and Kafka with TASKBOARD_STACK=postgres-kafka), the Dapr scheduler
and placement, one daprd per app and both apps under gunicorn, waits until each answers, and stops them all (children first) on
exit. `make run` uses it with fixed ports and readable logs on the console; the
test suite uses it with free ports and log files in a temporary directory.

    python scripts/devstack.py            # what `make run` does

Its parts, beside it in scripts/: devstack_ports (where each process listens),
devstack_processes (spawning, logs, waiting, stopping), devstack_provision (the
Dapr runtime, redis-server, the run directory), devstack_commands (each
process's command line and environment), devstack_data (the component sets and
their servers) and devstack_tier (starting those servers). Import this module, not them.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

# The parts are importable also when this file is loaded by its path (bench/run.py loads a snapshot's).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import devstack_commands as commands  # noqa: E402
import devstack_data  # noqa: E402
import devstack_mail as mail  # noqa: E402
import devstack_proxy as proxy  # noqa: E402
from devstack_ports import APPS, AppPorts, Ports, app_id_of, free_port, http_ok, port_open  # noqa: E402
from devstack_processes import COLOURS, Processes, StackError  # noqa: E402
from devstack_provision import ROOT, daprd_version, prepare_run_dir, provision, secrets_file  # noqa: E402
from devstack_tier import DataTier  # noqa: E402

__all__ = ["APPS", "COLOURS", "ROOT", "STACKS", "STACKS_SERVERS", "AppPorts", "Ports", "Stack", "StackError",
           "free_port", "main", "port_open", "stack_name"]
STACKS = tuple(devstack_data.STACKS)  # the TASKBOARD_STACK values: redis (default), postgres-kafka
STACKS_SERVERS = devstack_data.STACKS  # {stack: its data tier's process names}
stack_name = devstack_data.stack_name  # the stack in force: TASKBOARD_STACK, else redis


class Stack(DataTier):
    """Data tier + scheduler + (daprd, gunicorn) per app instance, started and stopped together.

    ``stack`` (default: $TASKBOARD_STACK, else redis) picks the data tier and its component set;
    ``components_dir`` overrides the set's directory (its servers still follow ``stack``).

    With several replicas (``Ports.default/free(replicas)``), each instance is a gunicorn
    beside its own daprd with the app's app-id, all sharing Redis and the scheduler,
    and HAProxy (devstack_proxy) is the ingress in front of taskboard's instances.
    """

    def __init__(self, run_dir: Path, ports: Ports, *, console: bool = False,
                 app_token: str | None = None, api_token: str | None = None,
                 workers: int = 2, app_env: dict[str, str] | None = None,
                 daprd_log_level: str = "info", components_dir: Path | None = None,
                 stack: str | None = None):
        self.stack_name = devstack_data.stack_name(stack)
        self.run_dir = run_dir.resolve()
        self.ports = ports
        self.console = console
        # taskboard's tokens are the ones given; every other app gets its own, so one app's token is no key to
        # another app's sidecar (DAPR_API_TOKEN) or inbound routes (APP_API_TOKEN)
        self.app_token = app_token
        self.api_token = api_token
        self.app_tokens = commands.tokens_per_app(app_token)
        self.api_tokens = commands.tokens_per_app(api_token)
        self.workers = workers
        self.app_env = app_env or {}
        self.daprd_log_level = daprd_log_level
        self.components_dir = components_dir or devstack_data.components_dir(self.stack_name, self.run_dir)
        self.dapr_bin: Path | None = None
        self.mailpit_bin: Path | None = None
        self.mail_component_bin: Path | None = None
        self.logs_dir = self.run_dir / "logs"
        self.processes = Processes(self.logs_dir, console=console)
        self.procs = self.processes.procs  # {name: Popen}, in start order

    def say(self, message: str) -> None:
        print(f"[stack] {message}", file=sys.stderr, flush=True)

    # Overridable: bench/run.py's probes also present the Dapr API token.
    _http_ok = staticmethod(http_ok)

    def _wait(self, what: str, check, timeout: float = 60.0, proc_name: str | None = None) -> None:
        self.processes.wait_until(what, check, timeout, proc_name)

    # -- what the processes need -----------------------------------------

    def provision(self) -> None:
        """Find or build daprd/scheduler; find or install the data tier's servers."""
        self.dapr_bin = provision(redis=self.stack_name == "redis")
        self.mailpit_bin = mail.provision_mailpit()
        self.mail_component_bin = mail.provision_mail_component()
        self.provision_servers()

    def daprd_version(self) -> str:
        return daprd_version(self.dapr_bin)

    def prepare(self) -> None:
        """The run directory daprd works in: components read secrets.json and write deliveries/ there."""
        prepare_run_dir(self.run_dir)

    def secrets_file(self) -> Path:
        """The local secret store's file, generated once with a random Flask key."""
        return secrets_file(self.run_dir)

    def sidecar_env(self, app_id: str = "taskboard") -> dict[str, str]:
        return commands.sidecar_env({**self.tier_env(), **mail.smtp_env(self.ports.mail_smtp)},
                                    self.api_tokens.get(app_id), self.app_tokens.get(app_id))

    def app_token_for(self, app_id: str) -> str | None:
        """The token ``app_id``'s sidecar presents to it (its inbound routes check it)."""
        return self.app_tokens.get(app_id)

    def api_token_for(self, app_id: str) -> str | None:
        """The token ``app_id``'s sidecar demands of callers (its app sends it)."""
        return self.api_tokens.get(app_id)

    def app_env_for(self, instance: str) -> dict[str, str]:
        extra = dict(self.app_env)
        if self.ports.proxy and app_id_of(instance) == "taskboard":
            extra.setdefault("TASKBOARD_PROXY_FIX_HOPS", "1")  # behind the proxy: trust its X-Forwarded-*
        app_id = app_id_of(instance)
        extra.setdefault("TASKBOARD_PUBLIC_URL", self.url())  # where links in e-mail point
        extra.setdefault("TASKBOARD_MAIL_LOCK_FILE", str(self.run_dir / f"{instance}.mail.lock"))
        return commands.app_env(instance, app_id, self.ports.apps[instance], self.run_dir,
                                self.workers, extra, self.api_tokens.get(app_id), self.app_tokens.get(app_id))

    # -- start / stop ----------------------------------------------------

    def start(self) -> "Stack":
        """Start everything and wait until each app answers, also through the other's sidecar."""
        self.prepare()
        if self.dapr_bin is None:
            self.provision()
        try:
            self.start_infrastructure()
            for instance in self.ports.apps:
                self._start_app(instance)
                self._start_daprd(instance)
                # One sidecar at a time, so a failed start names its sidecar. Starting both at once
                # (as `dapr run -f .` does) is safe too: components/config.yaml's busyTimeout lets
                # the second wait for the first's migration of the name-resolution database.
                self._wait_for_sidecar(instance)
            self._wait_for_apps()
            self._wait_for_invocation()
            if self.ports.proxy:
                self._start_proxy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_apps(self) -> None:
        for instance, ports in self.ports.apps.items():
            self._wait(f"daprd of {instance}",
                       lambda p=ports: self._http_ok(f"http://127.0.0.1:{p.http}/v1.0/healthz"),
                       timeout=90, proc_name=f"daprd-{instance}")
            self._wait(f"{instance} readiness",
                       lambda p=ports: self._http_ok(f"http://127.0.0.1:{p.app}/readyz"),
                       timeout=60, proc_name=instance)

    def _wait_for_sidecar(self, instance: str) -> None:
        """Until the instance's daprd has loaded its components (it need not reach its app yet)."""
        ports = self.ports.apps[instance]
        self._wait(f"daprd of {instance} initialised",
                   lambda: self._http_ok(f"http://127.0.0.1:{ports.http}/v1.0/healthz/outbound"),
                   timeout=90, proc_name=f"daprd-{instance}")

    def _wait_for_invocation(self) -> None:
        """End to end: each app reachable by app-id through the other's sidecar, which
        also means each sidecar has seen its app healthy (it refuses to call it before)."""
        first, second = list(APPS)
        for caller, callee in ((first, second), (second, first)):
            url = (f"http://127.0.0.1:{self.ports.apps[caller].http}"
                   f"/v1.0/invoke/{callee}/method/healthz")
            self._wait(f"{callee} through daprd of {caller}", lambda u=url: self._http_ok(u), timeout=60)

    def start_infrastructure(self) -> None:
        """The data tier, the Dapr scheduler and placement only: what `dapr init` provides to the Dapr CLI."""
        if self.dapr_bin is None:
            self.provision()
        self.prepare()
        self.start_servers()
        self._start_mailpit()
        self._start_scheduler()
        self._start_placement()

    def _start_placement(self) -> None:
        """Dapr's placement service: which sidecar hosts each actor (the board actors)."""
        p = self.ports
        self.say(f"starting dapr placement on 127.0.0.1:{p.placement}")
        self.processes.spawn("placement", commands.placement_argv(self.dapr_bin, p), env={}, cwd=self.run_dir)
        self._wait("placement", lambda: self._http_ok(f"http://127.0.0.1:{p.placement_health}/healthz"),
                   timeout=60, proc_name="placement")

    def _start_mailpit(self) -> None:
        p = self.ports
        if self.mailpit_bin is None:
            self.mailpit_bin = mail.provision_mailpit()
        self.say(f"starting mailpit: SMTP 127.0.0.1:{p.mail_smtp}, web UI and API http://127.0.0.1:{p.mail_http}")
        self.processes.spawn("mailpit", mail.mailpit_argv(self.mailpit_bin, p.mail_smtp, p.mail_http, self.run_dir),
                             env={}, cwd=self.run_dir)
        self._wait("mailpit", lambda: self._http_ok(f"http://127.0.0.1:{p.mail_http}/readyz"),
                   timeout=30, proc_name="mailpit")

    def mail_api(self) -> str:
        """Mailpit's HTTP API (``/api/v1/messages`` …), where tests read what was sent."""
        return f"http://127.0.0.1:{self.ports.mail_http}/api/v1"

    def _start_scheduler(self) -> None:
        p = self.ports
        data = self.run_dir / "scheduler"
        data.mkdir(exist_ok=True)
        self.say(f"starting dapr scheduler on 127.0.0.1:{p.scheduler}")
        self.processes.spawn("scheduler", commands.scheduler_argv(self.dapr_bin, p, data), env={}, cwd=self.run_dir)
        self._wait("scheduler", lambda: self._http_ok(f"http://127.0.0.1:{p.scheduler_health}/healthz"),
                   timeout=60, proc_name="scheduler")

    def _start_daprd(self, instance: str) -> None:
        ports = self.ports.apps[instance]
        sockets = mail.sockets_dir(self.run_dir, instance)
        sockets.mkdir(parents=True, exist_ok=True)
        if app_id_of(instance) == mail.MAIL_APP_ID:  # daprd finds pluggable components only when it starts
            self.start_mail_component(f"mail-component-{instance}", sockets)
        self.say(f"starting daprd for {instance} (http {ports.http}, grpc {ports.grpc})")
        argv = commands.daprd_argv(self.dapr_bin, app_id_of(instance), ports, self.ports.scheduler,
                                   self.components_dir, self.daprd_log_level, self.ports.placement)
        # cwd: the components' relative paths (secrets.json, deliveries/) are in the run directory
        self.processes.spawn(f"daprd-{instance}", argv, env={**self.sidecar_env(app_id_of(instance)),
                                                            **mail.sockets_env(sockets)}, cwd=self.run_dir)

    def start_mail_component(self, name: str, sockets: Path) -> None:
        """The pluggable mail component serving on ``sockets`` (unless it already runs), ready for a daprd."""
        proc = self.processes.procs.get(name)
        if proc is not None and proc.poll() is None:
            return
        if self.mail_component_bin is None:
            self.mail_component_bin = mail.provision_mail_component()
        self.say(f"starting the mail component (bindings.{mail.MAIL_COMPONENT}) in {sockets}")
        self.processes.spawn(name, [str(self.mail_component_bin)], env=mail.sockets_env(sockets), cwd=self.run_dir)
        self._wait(name, lambda: mail.socket_answers(mail.mail_component_socket(sockets)), timeout=30, proc_name=name)

    def _start_app(self, instance: str) -> None:
        ports = self.ports.apps[instance]
        self.say(f"starting {instance} under gunicorn on 127.0.0.1:{ports.app}")
        self.processes.spawn(instance, commands.gunicorn_argv(app_id_of(instance), ports.app),
                             env=self.app_env_for(instance), cwd=ROOT)

    def _start_proxy(self) -> None:
        """HAProxy on the public port, in front of every taskboard instance."""
        proxy.ensure_haproxy()
        servers = {name: ports.app for name, ports in self.ports.replicas("taskboard").items()}
        config = self.run_dir / "haproxy.cfg"
        config.write_text(proxy.haproxy_config(self.ports.proxy, servers))
        self.say(f"starting haproxy on 127.0.0.1:{self.ports.proxy} in front of {', '.join(servers)}")
        self.processes.spawn("proxy", proxy.haproxy_argv(config), env={}, cwd=self.run_dir)
        self._wait("proxy", lambda: self._http_ok(f"http://127.0.0.1:{self.ports.proxy}/readyz"),
                   timeout=30, proc_name="proxy")

    def stop(self, name: str | None = None) -> None:
        """Stop one process, or all of them in reverse start order."""
        self.processes.stop(name)

    def restart(self, name: str) -> None:
        """Stop and start one process again (fault tests)."""
        self.stop(name)
        if name in ("redis", "postgres", "kafka"):
            self.start_server(name)
        elif name == "scheduler":
            self._start_scheduler()
        elif name == "mailpit":
            self._start_mailpit()
        elif name.startswith("mail-component-"):  # its sidecar Inits it at start: restart that too
            self.stop(f"daprd-{name.removeprefix('mail-component-')}")
            self._start_daprd(name.removeprefix("mail-component-"))
        elif name == "placement":
            self._start_placement()
        elif name == "proxy":
            self._start_proxy()
        elif name.startswith("daprd-"):
            self._start_daprd(name.removeprefix("daprd-"))
        else:
            self._start_app(name)

    def drain_file(self, instance: str) -> Path:
        """Creating it turns the instance's readiness 503, as the preStop hook does in Kubernetes."""
        return self.run_dir / f"{instance}.draining"

    def rolling_restart(self, instance: str, drain_seconds: float = 3.0) -> None:
        """Restart one instance the way Kubernetes replaces a pod: drain (readiness 503, the proxy's
        health checks take it out), stop the app gracefully, then its sidecar; start both, wait ready."""
        drain = self.drain_file(instance)
        drain.touch()
        time.sleep(drain_seconds)  # the proxy checks every second and needs two failures
        self.stop(instance)
        self.stop(f"daprd-{instance}")
        drain.unlink()
        ports = self.ports.apps[instance]
        self._start_app(instance)
        self._start_daprd(instance)
        self._wait(f"{instance} readiness", lambda: self._http_ok(f"http://127.0.0.1:{ports.app}/readyz"),
                   timeout=90, proc_name=instance)
        if self.ports.proxy and app_id_of(instance) == "taskboard":
            # Back in the proxy's rotation (two passed health checks) before the next one drains.
            self._wait(f"{instance} in the proxy's rotation", lambda: self._served_by_proxy(instance), timeout=30)

    def _served_by_proxy(self, instance: str) -> bool:
        """Whether one of a few requests through the proxy is answered by ``instance``."""
        for _ in range(len(self.ports.replicas("taskboard")) + 1):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.ports.proxy}/healthz", timeout=2) as resp:
                    if resp.headers.get("X-Served-By") == instance:
                        return True
            except OSError:
                return False
        return False

    def url(self, app_id: str = "taskboard") -> str:
        """Where users reach the app: the proxy when there is one, else the app's own port."""
        if app_id == "taskboard" and self.ports.proxy:
            return f"http://127.0.0.1:{self.ports.proxy}"
        return f"http://127.0.0.1:{self.ports.apps[app_id].app}"

    def metrics_url(self, app_id: str = "taskboard") -> str:
        """Where Prometheus scrapes the app (every worker's metrics): not the app's port."""
        return f"http://127.0.0.1:{self.ports.apps[app_id].app_metrics}/metrics"


# -- `make run` and `make prepare` ------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Start the whole Taskboard stack locally.")
    parser.add_argument("--run-dir", default=str(ROOT / ".run"), help="state, logs and secrets (git-ignored)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--daprd-log-level", default=os.environ.get("DAPRD_LOG_LEVEL", "info"))
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS") or 1),
                        help="instances of each app (each beside its own daprd); above 1, HAProxy is the ingress")
    parser.add_argument("--stack", choices=STACKS, default=os.environ.get("TASKBOARD_STACK") or None,
                        help="the data tier and its component set (default: $TASKBOARD_STACK, else redis)")
    parser.add_argument("--prepare", action="store_true",
                        help="only create the run directory and its secret key (for `dapr run -f .`)")
    return parser.parse_args(argv)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM."""
    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stopping


def supervise(stack: Stack, stopping: threading.Event) -> None:
    """Until a signal or until any process exits."""
    while not stopping.is_set():
        exited = stack.processes.first_exited()
        if exited:
            stack.say(f"{exited[0]} exited with {exited[1]}; stopping the stack")
            break
        stopping.wait(1)


def main() -> int:
    args = parse_args()
    run_dir = Path(args.run_dir)
    if args.prepare:
        Stack(run_dir, Ports.default(), stack="redis").prepare()  # dapr.yaml runs the default (Redis) set
        print(f"[stack] {run_dir.resolve()} is ready for `dapr run -f .`", file=sys.stderr)
        return 0

    try:
        stack = Stack(run_dir, Ports.default(args.replicas), console=True, workers=args.workers,
                      app_token=os.environ.get("APP_API_TOKEN") or secrets.token_urlsafe(24),
                      daprd_log_level=args.daprd_log_level, stack=args.stack)
    except StackError as err:
        print(f"[stack] ERROR: {err}", file=sys.stderr)
        return 1
    stack.say(f"data tier: {stack.stack_name} ({', '.join(stack.servers())}; TASKBOARD_STACK="
              f"{' or '.join(STACKS)}), components from {stack.components_dir}")
    stopping = stop_on_signals()
    try:
        stack.start()
    except StackError as err:
        print(f"[stack] ERROR: {err}", file=sys.stderr)
        return 1
    stack.say(f"daprd {stack.daprd_version()} — Taskboard is up: {stack.url()}  (Ctrl-C stops everything)")
    stack.say("Prometheus metrics: " + ", ".join(stack.metrics_url(name) for name in stack.ports.apps))
    supervise(stack, stopping)
    stack.say("stopping...")
    stack.stop()
    stack.say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
