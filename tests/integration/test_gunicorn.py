"""gunicorn from gunicorn.conf.py: proxy headers behind an ingress, draining, graceful shutdown,
one control socket per app."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, csrf_token, eventually
from tests.integration.test_api import make_token
import devstack


@pytest.fixture
def gunicorn_app(stack, tmp_path):
    """A production-configured taskboard under gunicorn, on the test stack's sidecar."""
    port = devstack.free_port()
    env = {**os.environ, **stack.app_env_for("taskboard"), "PORT": str(port), "WEB_CONCURRENCY": "2",
           "TASKBOARD_ENV": "production", "TASKBOARD_PROXY_FIX_HOPS": "1",
           "TASKBOARD_DRAIN_FILE": str(tmp_path / "draining"), "GUNICORN_GRACEFUL_TIMEOUT": "10",
           "TASKBOARD_METRICS_PORT": str(devstack.free_port())}
    env.pop("GUNICORN_CONTROL_SOCKET")  # as in the cluster: gunicorn.conf.py's default
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                             "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=open(tmp_path / "gunicorn.log", "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    eventually(lambda: devstack.port_open(port), timeout=30)
    for _ in range(4):  # both workers booted and past their first request (secret key read)
        eventually(lambda: devstack.Stack._http_ok(base + "/login"), timeout=30)
    yield proc, base, tmp_path / "draining", port
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    print((tmp_path / "gunicorn.log").read_text(errors="replace")[-2000:])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_behind_an_ingress_the_app_sees_https(gunicorn_app):
    """ProxyFix makes X-Forwarded-Proto count: on HTTPS, CSRF also checks the Referer (strict SSL mode)."""
    _, base, _, _ = gunicorn_app
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "tasks.example.com",
                 "X-Forwarded-For": "203.0.113.9"}
    opener = urllib.request.build_opener(NoRedirect)
    page = opener.open(urllib.request.Request(base + "/login", headers=forwarded), timeout=10)
    set_cookie = page.headers["Set-Cookie"]
    assert "Secure" in set_cookie and page.headers["Strict-Transport-Security"]
    token = csrf_token(page.read().decode())
    # The browser would send the Secure cookie back over HTTPS; this hop is plain HTTP, so by hand.
    forwarded["Cookie"] = set_cookie.split(";", 1)[0]
    form = f"csrf_token={token}&username=nobody&password=wrong".encode()
    with pytest.raises(urllib.error.HTTPError) as no_referer:
        opener.open(urllib.request.Request(base + "/login", data=form, headers=forwarded), timeout=10)
    assert no_referer.value.code == 400  # seen as HTTPS: a POST without a same-origin Referer is refused
    with pytest.raises(urllib.error.HTTPError) as wrong_password:
        opener.open(urllib.request.Request(base + "/login", data=form, headers={
            **forwarded, "Referer": "https://tasks.example.com/login"}), timeout=10)
    assert wrong_password.value.code == 422  # past CSRF: the form itself answered


def test_readiness_turns_503_when_draining(gunicorn_app):
    _, base, drain_file, _ = gunicorn_app
    assert urllib.request.urlopen(base + "/readyz", timeout=10).status == 200
    drain_file.touch()
    with pytest.raises(urllib.error.HTTPError) as draining:
        urllib.request.urlopen(base + "/readyz", timeout=10)
    assert draining.value.code == 503
    assert urllib.request.urlopen(base + "/healthz", timeout=10).status == 200  # still alive


class SlowUpload(threading.Thread):
    """An API create whose client sends the headers and half the body, then holds the rest until
    ``release`` is set: the request is in flight (a worker thread is reading its body) meanwhile."""

    def __init__(self, port: int, token: str, n: int, release: threading.Event):
        super().__init__()
        self.port, self.token, self.release = port, token, release
        self.body = json.dumps({"title": f"uploaded slowly {n}", "description": "x" * 2000}).encode()
        self.sent_half = threading.Event()
        self.status: int | str | None = None
        self.task: dict | None = None

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest("POST", "/api/v1/tasks")
            for name, value in (("Authorization", f"Bearer {self.token}"), ("Content-Type", "application/json"),
                                ("Content-Length", str(len(self.body))), ("Connection", "close")):
                conn.putheader(name, value)
            conn.endheaders(self.body[:len(self.body) // 2])
            self.sent_half.set()
            self.release.wait(30)
            conn.send(self.body[len(self.body) // 2:])
            resp = conn.getresponse()
            self.status, self.task = resp.status, json.loads(resp.read() or b"null")
        except (OSError, http.client.HTTPException, ValueError) as err:
            self.status = f"error:{err!r}"
        finally:
            self.sent_half.set()
            conn.close()


def test_stop_sequence_loses_no_request(gunicorn_app, user):
    """The production stop sequence under load: preStop creates the drain file, readiness turns 503,
    the load balancer stops routing, SIGTERM while requests are still in flight (slow uploads held
    half-sent across it), gunicorn drains them, exit 0. Every request completes; no request fails."""
    proc, base, drain_file, port = gunicorn_app
    log_file = drain_file.parent / "gunicorn.log"
    token = make_token(user, "stop-sequence")
    outcomes: list[str] = []
    routing, release = threading.Event(), threading.Event()
    routing.set()

    def load():
        while routing.is_set():
            try:
                with urllib.request.urlopen(base + "/login", timeout=20) as resp:
                    resp.read()
                    outcomes.append(str(resp.status))
            except urllib.error.HTTPError as err:
                outcomes.append(str(err.code))
            except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as err:
                outcomes.append(f"error:{err!r}")

    def load_balancer():
        """Polls readiness like an ingress controller and stops routing when it fails."""
        while True:
            try:
                urllib.request.urlopen(base + "/readyz", timeout=5).read()
            except urllib.error.HTTPError as err:
                if err.code == 503:
                    routing.clear()
                    return
            time.sleep(0.2)

    threads = [threading.Thread(target=load) for _ in range(6)] + [threading.Thread(target=load_balancer)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    uploads = [SlowUpload(port, token, n, release) for n in range(6)]
    for u in uploads:
        u.start()
    assert all(u.sent_half.wait(10) for u in uploads)
    drain_file.touch()  # preStop
    for t in threads:
        t.join(timeout=30)
    assert not routing.is_set()
    time.sleep(0.5)  # the uploads' headers and first half have reached the workers' threads
    in_flight = sum(1 for u in uploads if u.is_alive() and u.status is None)  # started, not finished
    proc.send_signal(signal.SIGTERM)
    eventually(lambda: "Handling signal: term" in log_file.read_text(errors="replace"), timeout=10)
    time.sleep(1.0)  # the workers are in their graceful shutdown, the uploads still half-sent
    assert proc.poll() is None, "gunicorn exited with requests in flight"
    release.set()
    for u in uploads:
        u.join(timeout=30)
    assert proc.wait(timeout=30) == 0
    counts = {o: outcomes.count(o) for o in set(outcomes)}
    uploaded = [u.status for u in uploads]
    print(f"\nstop sequence: {in_flight} uploads in flight at SIGTERM -> {uploaded}; load before it: {counts}")
    assert in_flight == len(uploads) >= 6
    assert uploaded == [201] * len(uploads), uploaded
    assert counts.get("200", 0) > 10 and set(counts) == {"200"}, counts
    assert not devstack.port_open(port)
    for u in uploads:  # really stored, in full
        stored = user.get(f"/api/v1/tasks/{u.task['id']}", headers={"Authorization": f"Bearer {token}"})
        assert stored.status_code == 200 and stored.get_json()["description"] == "x" * 2000


def listening_unix_sockets(pid: int) -> set[str]:
    """Paths of the Unix sockets process ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    paths = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        listening = int(fields[3], 16) & 0x10000  # __SO_ACCEPTCON
        if len(fields) >= 8 and fields[6] in inodes and listening:
            paths.add(fields[7])
    return paths


def test_each_app_has_its_own_control_socket(stack):
    """Both gunicorn masters of the stack on one machine: each control socket is its own, in the run dir."""
    sockets = {app_id: listening_unix_sockets(stack.procs[app_id].pid) for app_id in devstack.APPS}
    for app_id, paths in sockets.items():
        assert paths == {str(stack.run_dir / f"{app_id}.ctl")}, sockets


def test_without_a_path_gunicorn_opens_no_control_socket(gunicorn_app):
    proc, base, _, _ = gunicorn_app
    assert urllib.request.urlopen(base + "/healthz", timeout=10).status == 200
    assert listening_unix_sockets(proc.pid) == set()
