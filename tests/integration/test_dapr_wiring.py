"""The wiring on the real sidecar: state, ETags, pub/sub, invocation, secrets, jobs."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import eventually
from webapp.dapr_gateway import Conflict, Delete, NotFound, Upsert
from webapp.events import publish_metadata


def test_state_round_trip(gateway):
    key = f"probe:{uuid.uuid4().hex}"
    gateway.save(key, {"hello": "world", "n": 1})
    item = gateway.get(key)
    assert item.value == {"hello": "world", "n": 1}
    assert item.etag


def test_missing_key_has_no_value_and_no_etag(gateway):
    item = gateway.get(f"probe:{uuid.uuid4().hex}")
    assert item.value is None and item.etag is None and not item.exists


def test_stale_etag_is_rejected_as_conflict(gateway):
    key = f"probe:{uuid.uuid4().hex}"
    gateway.save(key, {"v": 1})
    first = gateway.get(key)
    gateway.save(key, {"v": 2}, etag=first.etag)
    with pytest.raises(Conflict):
        gateway.save(key, {"v": "stale"}, etag=first.etag)
    assert gateway.get(key).value == {"v": 2}


def test_stale_etag_in_a_transaction_is_a_conflict(gateway):
    key = f"probe:{uuid.uuid4().hex}"
    gateway.save(key, {"v": 1})
    stale = gateway.get(key).etag
    gateway.save(key, {"v": 2}, etag=stale)
    with pytest.raises(Conflict):
        gateway.transact([Upsert(key, {"v": "stale"}, etag=stale)])
    with pytest.raises(Conflict):
        gateway.delete(key, etag=stale)
    gateway.transact([Delete(key)])
    assert not gateway.get(key).exists


def test_bulk_get_keeps_order_and_reports_missing(gateway):
    keys = [f"probe:{uuid.uuid4().hex}" for _ in range(3)]
    gateway.save(keys[0], {"i": 0})
    gateway.save(keys[2], {"i": 2})
    items = gateway.get_many(keys)
    assert [i.key for i in items] == keys
    assert [i.value for i in items] == [{"i": 0}, None, {"i": 2}]


def test_published_event_reaches_the_subscription_route_as_a_cloudevent(gateway, app):
    from webapp.tasks import service
    from webapp.tasks.model import TaskFields
    with app.app_context():  # a stored task: events of tasks that do not exist leave no history
        task_id, event_id = service.create("probe-user", TaskFields("probe")).id, uuid.uuid4().hex
    data = {"event_id": event_id, "type": "task.updated", "task_id": task_id, "user_id": "probe-user",
            "title": "probe", "status": "pending", "priority": "low",
            "timestamp": datetime.now(timezone.utc).isoformat(), "version": "1", "changes": []}
    gateway.publish(app.config["TASK_EVENTS_TOPIC"], data, publish_metadata(data))
    # The consumer stores the CloudEvent id it processed (we set it with cloudevent.id) ...
    eventually(lambda: gateway.get(f"processed:task-events:{event_id}").exists)
    # ... and its effect: the task's history has the event.
    history = gateway.get(f"activity:{task_id}").value
    assert event_id in [e["id"] for e in history["items"]]


def test_taskboard_invokes_notification_service_by_app_id(gateway):
    reply = gateway.invoke("notification-service", "notify", {
        "notification_id": uuid.uuid4().hex, "user_id": "probe-user", "task_id": None,
        "kind": "info", "message": "hello through Dapr"})
    assert reply["status"] == "sent"


def test_invoking_an_unknown_method_is_an_error_not_a_hang(gateway):
    from webapp.dapr_gateway import GatewayError
    with pytest.raises(GatewayError):
        gateway.invoke("notification-service", "no-such-method", {})


def test_secret_is_read_from_the_secret_store(gateway, stack):
    expected = json.loads(stack.secrets_file().read_text())["flask-secret-key"]
    assert gateway.secret("flask-secret-key") == expected


def test_missing_secret_is_not_found(gateway):
    with pytest.raises(NotFound):
        gateway.secret("no-such-secret")


def test_scheduled_job_calls_the_job_route(gateway):
    name = f"probe-{uuid.uuid4().hex[:12]}"
    gateway.schedule_job(name, datetime.now(timezone.utc) + timedelta(seconds=1), {"kind": "probe", "n": 7})
    fired = eventually(lambda: gateway.get(f"job-fired:{name}").value, timeout=20)
    assert fired["data"] == {"kind": "probe", "n": 7}


def test_readiness_lists_loaded_components(stack):
    with urllib.request.urlopen(f"{stack.url()}/readyz", timeout=5) as resp:
        body = json.loads(resp.read())
    assert resp.status == 200
    assert {"statestore", "pubsub", "secretstore"} <= set(body["components"])
