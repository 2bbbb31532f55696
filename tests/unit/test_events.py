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


# -- what the subscribers accept (webapp/background/task_events.py, task_updates.py): a malformed event is dropped, never retried

def _completed_event(**overrides):
    task = model.new_task("user-9", model.TaskFields("Write spec"), NOW)
    return {**events.task_event("task.completed", task, NOW, version="2"), **overrides}


def test_a_built_task_event_passes_the_subscribers_check():
    from webapp.background.task_events import check_task_event
    check_task_event(_completed_event())


@pytest.mark.parametrize("broken", [
    {"timestamp": None}, {"timestamp": ""}, {"timestamp": "yesterday"}, {"timestamp": 1700000000},
    {"timestamp": "2026-03-01T12:00:00"},  # no offset: not a point in time
    {"event_id": None}, {"task_id": ""}, {"user_id": 42}, {"type": "task.exploded"},
    {"changes": "title"}, {"title": ["x"]},
])
def test_a_task_event_missing_or_garbling_a_field_is_malformed(broken):
    from webapp.background.checks import Malformed
    from webapp.background.task_events import check_task_event
    with pytest.raises(Malformed):
        check_task_event(_completed_event(**broken))


def test_an_event_without_timestamp_is_malformed():
    from webapp.background.checks import Malformed
    from webapp.background.task_events import check_task_event
    event = _completed_event()
    del event["timestamp"]
    with pytest.raises(Malformed):
        check_task_event(event)


def test_notification_sent_needs_its_inbox_fields_and_a_readable_time():
    from webapp.background.checks import Malformed
    from webapp.background.task_updates import check_notification_sent
    note = {"notification_id": "n1", "user_id": "u", "task_id": "t", "kind": "task.completed", "message": "m"}
    check_notification_sent(events.notification_sent(note, NOW))
    with pytest.raises(Malformed):
        check_notification_sent({**events.notification_sent(note, NOW), "timestamp": "soon"})
    with pytest.raises(Malformed):
        check_notification_sent({**events.notification_sent(note, NOW), "message": ""})


def test_times_in_notification_texts_are_in_the_given_zone():
    from webapp.background.reminders import local_time
    due = datetime(2031, 6, 1, 12, 0, tzinfo=timezone.utc)
    assert local_time(due, "Asia/Tokyo") == "2031-06-01 21:00 Asia/Tokyo"
    assert local_time(due, "America/New_York") == "2031-06-01 08:00 America/New_York"
    assert local_time(due, "Not/AZone") == "2031-06-01 12:00 UTC"
