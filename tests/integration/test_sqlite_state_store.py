"""Switching the state store is YAML only: the same app on the embedded SQLite store (components-alt/)."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

import devstack
from tests.conftest import ROOT, Browser, eventually


@pytest.fixture(scope="module")
def sqlite_app():
    components = Path(tempfile.mkdtemp()) / "components"
    shutil.copytree(ROOT / "components", components)
    shutil.copy(ROOT / "components-alt/statestore-sqlite.yaml", components / "statestore.yaml")
    stack = devstack.Stack(Path(tempfile.mkdtemp()), devstack.Ports.free(), workers=1,
                           app_token=secrets.token_urlsafe(16), components_dir=components,
                           stack="redis")  # components/ is the Redis set: its pub/sub needs Redis
    stack.start()
    from webapp.app import create_app
    ports = stack.ports.apps["taskboard"]
    app = create_app({"DAPR_GRPC_PORT": ports.grpc, "DAPR_HTTP_PORT": ports.http, "TESTING": True,
                      "APP_API_TOKEN": stack.app_token})
    yield stack, app
    stack.stop()
    shutil.rmtree(stack.run_dir, ignore_errors=True)
    shutil.rmtree(components.parent, ignore_errors=True)


def test_the_product_works_unchanged_on_sqlite(sqlite_app):
    stack, app = sqlite_app
    meta = app.extensions["dapr"].metadata()
    assert {"name": "statestore", "type": "state.sqlite", "version": "v1"} in meta["components"]
    user = Browser(app.test_client())
    user.register()
    task_id = user.create_task(title="on sqlite")
    stale = user.version_of(task_id)
    # The version clients see is the task's revision; writes are guarded by the store's ETag (UUIDs on SQLite).
    assert stale == "1" and len(app.extensions["dapr"].get(f"task:{task_id}").etag) == 36
    fields = {"status": "pending", "priority": "low", "recurrence": "none"}
    assert user.form_post(f"/tasks/{task_id}/edit", {**fields, "title": "edited", "version": stale}).status_code == 302
    assert user.form_post(f"/tasks/{task_id}/edit", {**fields, "title": "stale", "version": stale}).status_code == 409
    assert user.action(task_id, "complete").status_code == 302
    eventually(lambda: 'aria-label="1 unread"' in user.get("/tasks").get_data(as_text=True))
    assert "edited" in user.get("/tasks").get_data(as_text=True)
    assert (stack.run_dir / "taskboard-state.db").exists()
