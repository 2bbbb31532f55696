"""The command line and environment of each process of the stack: Redis, the Dapr scheduler and placement, and a
daprd plus a gunicorn per app (the same flags the Dapr CLI gets from dapr.yaml)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from devstack_ports import APPS, AppPorts, Ports
from devstack_provision import ROOT


def redis_argv(port: int, data_dir: Path) -> list[str]:
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(data_dir), "--save", "60 1", "--appendonly", "no",
            "--protected-mode", "yes", "--loglevel", "warning"]


def scheduler_argv(dapr_bin: Path, p: Ports, data_dir: Path) -> list[str]:
    return [
        str(dapr_bin / "scheduler"), "--listen-address", "127.0.0.1",
        "--port", str(p.scheduler), "--override-broadcast-host-port", f"localhost:{p.scheduler}",
        "--healthz-port", str(p.scheduler_health), "--healthz-listen-address", "127.0.0.1",
        "--metrics-port", str(p.scheduler_metrics),
        "--etcd-data-dir", str(data_dir), "--etcd-client-port", str(p.etcd_client),
        "--etcd-initial-cluster", f"dapr-scheduler-server-0=http://localhost:{p.etcd_peer}",
        "--log-level", "warn",
    ]


def placement_argv(dapr_bin: Path, p: Ports) -> list[str]:
    """Dapr's placement service (where each actor is active), one node with its raft log in memory."""
    return [
        str(dapr_bin / "placement"), "--listen-address", "127.0.0.1", "--port", str(p.placement),
        "--healthz-port", str(p.placement_health), "--healthz-listen-address", "127.0.0.1",
        "--metrics-port", str(p.placement_metrics), "--metrics-listen-address", "127.0.0.1",
        "--initial-cluster", f"dapr-placement-0=127.0.0.1:{p.placement_raft}",
        "--log-level", "warn",
    ]


def daprd_argv(dapr_bin: Path, app_id: str, ports: AppPorts, scheduler_port: int,
               components_dir: Path, log_level: str, placement_port: int | None = None) -> list[str]:
    return [
        str(dapr_bin / "daprd"), "--app-id", app_id, "--app-port", str(ports.app),
        "--app-protocol", "http", "--app-channel-address", "127.0.0.1",
        "--dapr-listen-addresses", "127.0.0.1",
        "--dapr-http-port", str(ports.http), "--dapr-grpc-port", str(ports.grpc),
        "--dapr-internal-grpc-port", str(ports.internal), "--metrics-port", str(ports.metrics),
        "--resources-path", str(components_dir), "--config", str(components_dir / "config.yaml"),
        "--scheduler-host-address", f"localhost:{scheduler_port}",
        # Actors need placement; without it (None) daprd runs with actors off.
        "--placement-host-address", f"localhost:{placement_port}" if placement_port else "",
        "--enable-app-health-check", "--app-health-check-path", "/healthz",
        "--app-health-probe-interval", "3", "--dapr-graceful-shutdown-seconds", "5",
        # Deliveries (events, jobs, bindings) never take more than half of the
        # app's request threads, so users are served while a consumer is slow.
        "--app-max-concurrency", "4",
        "--log-level", log_level,
    ]


def gunicorn_argv(app_id: str, port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", APPS[app_id]]


def tokens_per_app(token: str | None) -> dict[str, str]:
    """One token per app: taskboard's is ``token``, every other app's a random one of its own (none if no
    ``token``)."""
    if not token:
        return {}
    return {app_id: token if app_id == "taskboard" else secrets.token_urlsafe(24) for app_id in APPS}


def token_env(api_token: str | None, app_token: str | None) -> dict[str, str]:
    """The Dapr API token and the app token, for whichever is set."""
    env = {}
    if api_token:
        env["DAPR_API_TOKEN"] = api_token
    if app_token:
        env["APP_API_TOKEN"] = app_token
    return env


def sidecar_env(tier_env: dict[str, str], api_token: str | None, app_token: str | None) -> dict[str, str]:
    """What a daprd needs on top of this environment: the components' server addresses, the tokens."""
    return {**tier_env, **token_env(api_token, app_token)}


def app_env(instance: str, app_id: str, ports: AppPorts, run_dir: Path, workers: int, extra: dict[str, str],
            api_token: str | None, app_token: str | None) -> dict[str, str]:
    """What an app instance's gunicorn needs on top of this environment (``extra`` overrides the defaults)."""
    return {
        "DAPR_HTTP_PORT": str(ports.http),
        "DAPR_GRPC_PORT": str(ports.grpc),
        "TASKBOARD_APP_ID": app_id,
        "PORT": str(ports.app),
        "TASKBOARD_METRICS_PORT": str(ports.app_metrics),
        "TASKBOARD_METRICS_ADDRESS": "127.0.0.1",
        # gunicornc -s <run dir>/<instance>.ctl: one control socket per app instance, never a shared one.
        "GUNICORN_CONTROL_SOCKET": str(run_dir / f"{instance}.ctl"),
        # The preStop hook's file, one per instance: readiness turns 503 and the proxy drains it.
        "TASKBOARD_DRAIN_FILE": str(run_dir / f"{instance}.draining"),
        "WEB_CONCURRENCY": str(workers),
        "PYTHONUNBUFFERED": "1",
        **extra,
        **token_env(api_token, app_token),
    }
