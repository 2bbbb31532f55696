"""Fixtures for the live local cluster (`make k8s-up`): kubectl, the taskboard Service, a plain HTTP user.

Run only by `make k8s-test` (deploy/local-cluster/test.sh), inside the cluster's network namespace: Service
ClusterIPs are reached through kube-proxy the way a process on the node reaches them.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import socket
import subprocess
import threading
import urllib.parse
import uuid
from pathlib import Path

import pytest

from ..conftest import csrf_token
from ..conftest import eventually as shared_eventually

STATE = Path(os.environ.get("TASKBOARD_K8S_STATE", Path.home() / ".cache/taskboard/k8s-cluster"))
NS = "taskboard"
PASSWORD = "correct horse battery"


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


@pytest.fixture(scope="session")
def service(cluster) -> tuple[str, int]:
    """(ClusterIP, port) of the taskboard Service."""
    svc = kube_json("-n", NS, "get", "service", "taskboard")
    return svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["port"]


class WebUser:
    """A user of the web app over plain HTTP through the Service (a new connection per request).

    The production app sets Secure cookies; http.cookiejar would withhold them over http, so the session
    cookie is kept by hand (this client only ever talks to the one Service).
    """

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        """One request; (status, headers, text). Connection errors propagate."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        hdrs = {"Connection": "close", **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
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
def web_user(service) -> WebUser:
    """A freshly registered user talking to the taskboard Service."""
    user = WebUser(*service)
    user.register()
    return user


@pytest.fixture(scope="session")
def localhost_relay(service):
    """http://localhost:<port> relayed byte for byte to the taskboard Service, for Chromium.

    The production app's session cookie is Secure: Chromium keeps Secure cookies only from https or from
    localhost. Without an ingress controller with TLS here, the browser uses localhost and this relay (no
    headers added: the app sees a direct client, as it would behind a TCP load balancer).
    """
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def pipe(src, dst):
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve():
        listener.settimeout(0.5)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(service, timeout=10)
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://localhost:{port}"
    stop.set()
    thread.join(timeout=2)
    listener.close()
