"""Where each process of the local stack listens: `make run`'s fixed ports, or free ones for a test session."""

from __future__ import annotations

import fcntl
import random
import socket
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field, fields
from pathlib import Path

APPS = {
    # app-id: WSGI target; each app gets its own AppPorts
    "taskboard": "wsgi:app",
    "notification-service": "webapp.notification_service:create_app()",
}

_HANDED_OUT: set[int] = set()
# One lock file per handed-out port, flock'ed for this process's life: stacks of other test sessions on the same
# machine skip those ports, so a process stopped by a fault test gets its port back when it restarts.
_CLAIMS = Path(tempfile.gettempdir()) / "taskboard-ports"
_HELD: dict[int, object] = {}


def instances(app_id: str, replicas: int) -> list[str]:
    """The instance names of an app: its app-id, then ``<app-id>-2``, ``-3``… (same app-id for Dapr)."""
    return [app_id] + [f"{app_id}-{n}" for n in range(2, replicas + 1)]


def app_id_of(instance: str) -> str:
    """The app-id an instance runs as."""
    if instance in APPS:
        return instance
    app_id, _, number = instance.rpartition("-")
    if app_id in APPS and number.isdigit():
        return app_id
    raise KeyError(f"no app for instance {instance!r}")


def free_port() -> int:
    """A free port below the kernel's ephemeral range (32768+), so no outgoing connection can take it between now
    and when a process binds it, and claimed for this process's life, so no other test session's stack takes it
    while its process is stopped (a fault test restarting a sidecar on the same port)."""
    while True:
        port = random.randrange(20000, 32000)
        if port in _HANDED_OUT or not _claim(port):
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                _HELD.pop(port).close()
                continue
        _HANDED_OUT.add(port)
        return port


def _claim(port: int) -> bool:
    """Whether this process now holds ``port``'s lock file (released by the kernel when the process ends)."""
    _CLAIMS.mkdir(exist_ok=True)
    claim = open(_CLAIMS / str(port), "w")  # noqa: SIM115 - held open on purpose: the open file holds the lock
    try:
        fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        claim.close()
        return False
    _HELD[port] = claim
    return True


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    """Whether ``url`` answers 2xx within 2 s (any error or other status: False)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError):
        return False


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
    placement: int  # Dapr's placement service (actors): gRPC, health, metrics, its one-node raft
    placement_health: int
    placement_metrics: int
    placement_raft: int
    postgres: int  # the postgres-kafka stack's servers (devstack_data)
    kafka: int
    kafka_controller: int
    apps: dict[str, AppPorts] = field(default_factory=dict)  # by instance name (see ``instances``)
    proxy: int | None = None  # the ingress in front of taskboard's replicas, when there are several
    mail_smtp: int = 1025  # Mailpit: SMTP (notification-service's notify-email binding sends there)
    mail_http: int = 8025  # Mailpit: web UI and HTTP API (read what arrived)

    @classmethod
    def default(cls, replicas: int = 1) -> "Ports":
        """Fixed ports of `make run` (the README lists them).

        With replicas, the proxy takes 8000 and instance n of each app has every port + 100·n
        (taskboard 8100, 8200…; notification-service 8001, 8101…).
        """
        base = {"taskboard": AppPorts(8000, 3500, 50001, 50011, 9090, 9464),
                "notification-service": AppPorts(8001, 3501, 50002, 50012, 9091, 9465)}
        apps = {}
        for app_id, ports in base.items():
            for n, instance in enumerate(instances(app_id, replicas)):
                shift = 100 * (n + 1) if replicas > 1 and app_id == "taskboard" else 100 * n
                apps[instance] = AppPorts(*(getattr(ports, f.name) + shift for f in fields(AppPorts)))
        return cls(redis=6380, scheduler=50006, scheduler_health=50007, scheduler_metrics=50008,
                   etcd_client=52379, etcd_peer=52380, placement=50005, placement_health=50003,
                   placement_metrics=50004, placement_raft=58201, postgres=5433, kafka=9092, kafka_controller=9093,
                   apps=apps, proxy=8000 if replicas > 1 else None)

    @classmethod
    def free(cls, replicas: int = 1) -> "Ports":
        """Ephemeral ports for a test session, never colliding with `make run`."""
        return cls(redis=free_port(), scheduler=free_port(), scheduler_health=free_port(),
                   scheduler_metrics=free_port(), etcd_client=free_port(), etcd_peer=free_port(),
                   placement=free_port(), placement_health=free_port(), placement_metrics=free_port(),
                   placement_raft=free_port(),
                   postgres=free_port(), kafka=free_port(), kafka_controller=free_port(),
                   apps={instance: AppPorts(*(free_port() for _ in fields(AppPorts)))
                         for app in APPS for instance in instances(app, replicas)},
                   proxy=free_port() if replicas > 1 else None, mail_smtp=free_port(), mail_http=free_port())

    def replicas(self, app_id: str) -> dict[str, AppPorts]:
        """The instances of one app and their ports."""
        return {name: ports for name, ports in self.apps.items() if app_id_of(name) == app_id}
