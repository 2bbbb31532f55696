"""Event building: one place, the SPEC's fields, Dapr metadata."""

from datetime import datetime, timezone

import pytest

from webapp import events
from webapp.tasks import model

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_task_event_carries_the_spec_fields():
    task = model.new_task("user-9", model.TaskFields("Write spec", priority="high"), NOW)
    data = events.task_event("task.created", task, NOW, version="3")
    for name in ("event_id", "task_id", "user_id", "title", "status", "priority", "timestamp", "version"):
        assert data[name] not in (None, ""), name
    assert data["user_id"] == "user-9" and data["type"] == "task.created" and data["version"] == "3"


def test_each_event_gets_its_own_id():
    task = model.new_task("u", model.TaskFields("x"), NOW)
    assert events.task_event("task.updated", task, NOW)["event_id"] != events.task_event("task.updated", task, NOW)["event_id"]


def test_unknown_event_type_is_refused():
    task = model.new_task("u", model.TaskFields("x"), NOW)
    with pytest.raises(ValueError):
        events.task_event("task.exploded", task, NOW)


def test_publish_metadata_has_user_and_cloudevent_fields():
    task = model.new_task("user-9", model.TaskFields("x"), NOW)
    data = events.task_event("task.completed", task, NOW)
    meta = events.publish_metadata(data)
    assert meta["user_id"] == "user-9"
    assert meta["cloudevent.id"] == data["event_id"] and meta["cloudevent.type"] == "task.completed"


def test_notification_sent_event_is_idempotent_by_notification():
    note = {"notification_id": "n1", "user_id": "u", "task_id": "t", "kind": "task.completed", "message": "m"}
    assert events.notification_sent(note, NOW)["event_id"] == events.notification_sent(note, NOW)["event_id"]
