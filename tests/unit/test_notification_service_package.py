"""notification-service stands on the shared base only, and answers JSON for every failure: no sidecar needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.dapr_gateway import Unavailable
from webapp.notification_service import create_app

ROOT = Path(__file__).resolve().parents[2]
WEB_ONLY = ("flask_login", "flask_wtf", "wtforms", "flask_smorest", "webapp.tasks", "webapp.api", "webapp.auth",
            "webapp.app", "webapp.extensions", "webapp.errors")


def test_building_the_notifier_imports_no_web_app_code():
    script = ("import json, sys\n"
              "from webapp.notification_service import create_app\n"
              "create_app({'SECRET_KEY': 'x'})\n"
              "print(json.dumps(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True)
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "webapp.notification_service.routes" in loaded  # the probe saw the service itself
    leaked = sorted(m for m in loaded if m in WEB_ONLY or m.startswith(tuple(f"{w}." for w in WEB_ONLY)))
    assert leaked == []


@pytest.fixture()
def client():
    app = create_app({"SECRET_KEY": "x", "TESTING": False})

    @app.get("/_boom")
    def boom():
        raise RuntimeError("a bug")

    @app.get("/_down")
    def down():
        raise Unavailable("sidecar gone")

    return app.test_client()


@pytest.mark.parametrize("method, path, status, error", [
    ("GET", "/no-such-route", 404, "not_found"),
    ("GET", "/notify", 405, "method_not_allowed"),
    ("POST", "/notify", 422, "invalid"),
    ("GET", "/_boom", 500, "internal_error"),
    ("GET", "/_down", 503, "unavailable"),
])
def test_every_failure_is_a_json_answer(client, method, path, status, error):
    resp = client.open(path, method=method, data="not json", content_type="text/plain",
                       headers={"Accept": "text/html"})  # even a browser-like caller gets JSON
    assert resp.status_code == status
    assert resp.mimetype == "application/json"
    assert resp.get_json()["error"] == error
    assert b"<html" not in resp.data.lower()


def test_a_405_names_the_allowed_method_and_a_503_says_when_to_retry(client):
    assert "POST" in client.get("/notify").headers["Allow"]
    assert client.get("/_down").headers["Retry-After"] == "5"
