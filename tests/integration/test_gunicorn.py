"""gunicorn from gunicorn.conf.py: proxy headers behind an ingress, draining, graceful shutdown."""

from __future__ import annotations

import http.client
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
import devstack


@pytest.fixture
def gunicorn_app(stack, tmp_path):
    """A production-configured taskboard under gunicorn, on the test stack's sidecar."""
    port = devstack.free_port()
    env = {**os.environ, **stack.app_env_for("taskboard"), "PORT": str(port), "WEB_CONCURRENCY": "2",
           "TASKBOARD_ENV": "production", "TASKBOARD_PROXY_FIX_HOPS": "1",
           "TASKBOARD_DRAIN_FILE": str(tmp_path / "draining"), "GUNICORN_GRACEFUL_TIMEOUT": "10"}
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


def test_stop_sequence_loses_no_request(gunicorn_app):
    """The production stop sequence under load: preStop creates the drain file, readiness turns 503,
    the load balancer stops routing, SIGTERM, in-flight requests finish, exit 0. No request fails."""
    proc, base, drain_file, port = gunicorn_app
    outcomes: list[str] = []
    routing = threading.Event()
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
    drain_file.touch()  # preStop
    assert routing.wait(0) is True
    for t in threads:
        t.join(timeout=30)
    assert not routing.is_set()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    counts = {o: outcomes.count(o) for o in set(outcomes)}
    print(f"\nstop sequence under load: {counts}")
    assert counts.get("200", 0) > 10 and set(counts) == {"200"}, counts
    assert not devstack.port_open(port)
