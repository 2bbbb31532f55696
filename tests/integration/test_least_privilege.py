"""Each app may do only what it needs: its own tokens, its own topics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import app_config
from webapp.dapr_gateway import Rejected


def _post(url: str, token: str | None, body: dict) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **({"dapr-api-token": token} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_each_app_has_its_own_app_token(stack):
    taskboard, notifier = stack.app_token_for("taskboard"), stack.app_token_for("notification-service")
    assert taskboard and notifier and taskboard != notifier
    note = {"notification_id": "token-probe", "user_id": "nobody", "kind": "info", "message": "x"}
    assert _post(stack.url("notification-service") + "/notify", taskboard, note) == 401  # taskboard's is no key
    assert _post(stack.url() + "/job/probe-token", notifier, {"kind": "probe"}) == 401


@pytest.fixture(scope="module")
def notifier_gateway(stack):
    """A gateway to notification-service's sidecar, as that app has it."""
    from webapp.notification_service import create_app
    ports = stack.ports.apps["notification-service"]
    app = create_app(app_config(stack, DAPR_GRPC_PORT=ports.grpc, DAPR_HTTP_PORT=ports.http,
                                APP_API_TOKEN=stack.app_token_for("notification-service")))
    with app.app_context():
        yield app.extensions["dapr"]


@pytest.mark.parametrize("topic", ["task-events", "task-events-deadletter", "some-other-topic"])
def test_notification_services_sidecar_refuses_to_publish_anywhere_but_task_updates(notifier_gateway, topic):
    with pytest.raises(Rejected):
        notifier_gateway.publish(topic, {"type": "task.deleted", "event_id": "forged", "task_id": "t", "user_id": "u"})


def test_taskboards_sidecar_refuses_a_topic_outside_the_app(gateway):
    with pytest.raises(Rejected):
        gateway.publish("some-other-topic", {"type": "probe"})


def test_notification_service_has_no_secret_store(stack):
    meta = json.loads(urllib.request.urlopen(
        f"http://127.0.0.1:{stack.ports.apps['notification-service'].http}/v1.0/metadata", timeout=5).read())
    assert "secretstore" not in {c["name"] for c in meta["components"]}
