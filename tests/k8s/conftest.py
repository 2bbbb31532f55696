"""Fixtures for the live local cluster (`make k8s-up`): kubectl, the taskboard Service, the ingress
(https://taskboard.local, served by Traefik) and a web user of either.

Run only by `make k8s-test` (deploy/local-cluster/test.sh), inside the cluster's network namespace: Service
ClusterIPs are reached through kube-proxy the way a process on the node reaches them. taskboard.local resolves
to the address the ingress controller published on the Ingress, and its certificate is checked against the
local CA that k8s-up made (nothing is resolved through the host, no certificate check is turned off).
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import csrf_token
from ..conftest import eventually as shared_eventually

STATE = Path(os.environ.get("TASKBOARD_K8S_STATE", Path.home() / ".cache/taskboard/k8s-cluster"))
NS = "taskboard"
PASSWORD = "correct horse battery"
HOST = "taskboard.local"
INGRESS_CA = STATE / "pki" / "ingress-ca.crt"


def kubectl(*args: str, check: bool = True, timeout: float = 120) -> str:
    """Run the cluster's kubectl as its admin; stdout."""
    proc = subprocess.run([str(STATE / "bin" / "kubectl"), "--kubeconfig", str(STATE / "admin.kubeconfig"), *args],
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def kube_json(*args: str) -> dict:
    """A kubectl get as JSON."""
    return json.loads(kubectl(*args, "-o", "json"))


def pods(selector: str, namespace: str = NS) -> list[dict]:
    """The pods of a label selector, terminating ones included."""
    return kube_json("-n", namespace, "get", "pods", "-l", selector)["items"]


# The shared poll, with the cluster's slower defaults (pods take longer than local processes).
eventually = functools.partial(shared_eventually, timeout=60.0, interval=0.5)


@pytest.fixture(scope="session")
def cluster() -> None:
    """The local cluster is up: its node is Ready."""
    assert (STATE / "admin.kubeconfig").exists(), "no local cluster: run `make k8s-up` first"
    node = kube_json("get", "node", "taskboard-node")
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True", node["status"]["conditions"]


@dataclass(frozen=True)
class DataTier:
    """The data tier the cluster runs (`make k8s-up K8S_STACK=...`): redis, or postgres-kafka (PostgreSQL holds
    the state store)."""

    name: str

    @property
    def store(self) -> tuple[str, int]:
        """(app.kubernetes.io/name, port) of the state store's pods: no NetworkPolicy selects them."""
        return ("redis", 6379) if self.name == "redis" else ("postgresql", 5432)

    def state_keys(self, part: str) -> list[str]:
        """The state store's keys that contain part, read in the store's own pod (redis-cli or psql)."""
        if self.name == "redis":
            out = kubectl("-n", NS, "exec", "deploy/redis-master", "--", "sh", "-c",
                          f'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning --scan --pattern "*{part}*"')
        else:  # state.postgresql v2, tablePrefix taskboard_ (deploy/dapr/state-postgresql)
            assert "'" not in part and "%" not in part, part
            out = kubectl("-n", NS, "exec", "statefulset/postgresql", "--", "psql", "-h", "/tmp", "-U", "taskboard",
                          "-d", "taskboard", "-tAc", f"SELECT key FROM taskboard_state WHERE key LIKE '%{part}%'")
        return [key for key in out.split() if part in key]


@pytest.fixture(scope="session")
def data_tier(cluster) -> DataTier:
    """Which data tier runs: the PostgreSQL StatefulSet's presence tells."""
    found = kubectl("-n", NS, "get", "statefulset", "postgresql", "--ignore-not-found", "-o", "name").strip()
    return DataTier("postgres-kafka" if found else "redis")


@pytest.fixture(scope="session")
def service(cluster) -> tuple[str, int]:
    """(ClusterIP, port) of the taskboard Service."""
    svc = kube_json("-n", NS, "get", "service", "taskboard")
    return svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["port"]


@dataclass(frozen=True)
class Ingress:
    """The ingress controller's address for taskboard.local, and connections to it as a browser makes them."""

    address: str

    def tls_context(self) -> ssl.SSLContext:
        """Verification on, hostname checked, the local web CA as the only trusted root."""
        return ssl.create_default_context(cafile=str(INGRESS_CA))

    origin = f"https://{HOST}"

    def user(self) -> WebUser:
        """A new web user of https://taskboard.local."""
        return WebUser(self.connection, origin=self.origin)

    def connection(self, timeout: float = 10.0, tls: bool = True,
                   context: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
        """A connection to taskboard.local (https on 443, or http on 80) that resolves it to the ingress;
        https trusts the local web CA unless another context is given."""
        if tls:
            conn = http.client.HTTPSConnection(HOST, 443, timeout=timeout, context=context or self.tls_context())
        else:
            conn = http.client.HTTPConnection(HOST, 80, timeout=timeout)
        conn._create_connection = lambda addr, *args: socket.create_connection((self.address, addr[1]), *args)
        return conn


@pytest.fixture(scope="session")
def ingress(cluster) -> Ingress:
    """taskboard.local's address: the one Traefik publishes in the Ingress's status (its Service's ClusterIP)."""
    def published() -> str | None:
        lb = kube_json("-n", NS, "get", "ingress", "taskboard").get("status", {}).get("loadBalancer", {})
        return next((i.get("ip") for i in lb.get("ingress") or [] if i.get("ip")), None)
    assert INGRESS_CA.exists(), f"no local web CA at {INGRESS_CA}"
    return Ingress(eventually(published))


Connect = Callable[[float], http.client.HTTPConnection]


def through_service(service: tuple[str, int]) -> Connect:
    """Connections straight to the taskboard Service (bypassing the ingress)."""
    return lambda timeout: http.client.HTTPConnection(*service, timeout=timeout)


class WebUser:
    """A user of the web app (a new connection per request), through the ingress or straight to the Service.

    The production app sets Secure cookies; http.cookiejar would withhold them over plain http to the Service,
    so the session cookie is kept by hand (this client only ever talks to the one site). With an origin
    (https://taskboard.local), requests carry the same-origin Referer a browser sends: the app's CSRF check
    requires one on https.
    """

    def __init__(self, connect: Connect, timeout: float = 10.0, origin: str | None = None):
        self.connect, self.timeout, self.origin = connect, timeout, origin
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None,
                json_body: object = None) -> tuple[int, dict, str]:
        """One request with a form body or a JSON body; (status, headers, text). Connection errors propagate."""
        conn = self.connect(self.timeout)
        hdrs = {"Connection": "close", **(headers or {})}
        if self.origin:
            hdrs.setdefault("Referer", f"{self.origin}{path}")
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            data = json.dumps(json_body)
            hdrs["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text
        finally:
            conn.close()

    def form_post(self, path: str, data: dict, page: str | None = None) -> tuple[int, dict, str]:
        """POST a form with the CSRF token of the page it came from."""
        status, _, html = self.request("GET", page or path)
        assert status == 200, (status, html[:500])
        return self.request("POST", path, {"csrf_token": csrf_token(html), **data})

    def register(self) -> str:
        """Register a fresh user (signed in afterwards)."""
        username = f"k8s{uuid.uuid4().hex[:10]}"
        status, hdrs, text = self.form_post("/register", {"username": username, "password": PASSWORD,
                                                          "confirm": PASSWORD, "timezone": "UTC"})
        assert status == 302, (status, text[:1000])
        return username

    def create_task(self, title: str) -> str:
        """Create a task through the form; its id."""
        status, hdrs, text = self.form_post("/tasks/new", {
            "title": title, "description": "", "status": "pending", "priority": "medium", "tags": "",
            "due_at": "", "remind_at": "", "recurrence": "none"})
        assert status == 302, (status, text[:1000])
        return hdrs["location"].rsplit("/", 1)[-1]

    def complete(self, task_id: str, headers: dict | None = None) -> int:
        """Complete a task through its page's form; the status of the POST."""
        status, _, html = self.request("GET", f"/tasks/{task_id}")
        assert status == 200, status
        version = re.search(r'name="version" value="([^"]*)"', html).group(1)
        status, _, _ = self.request("POST", f"/tasks/{task_id}/complete",
                                    {"csrf_token": csrf_token(html), "version": version}, headers=headers)
        return status

    def unread(self) -> int:
        """The unread-notification count of the navigation badge (0 without a badge)."""
        status, _, html = self.request("GET", "/notifications")
        assert status == 200, status
        match = re.search(r'aria-label="(\d+) unread"', html)
        return int(match.group(1)) if match else 0


@pytest.fixture
def web_user(ingress) -> WebUser:
    """A freshly registered user of https://taskboard.local."""
    user = ingress.user()
    user.register()
    return user
