"""Task events name the board the task is on and who acted, in the data and in the publish metadata."""

from __future__ import annotations

from datetime import datetime, timezone

from webapp import events
from webapp.tasks.model import TaskFields, new_task

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def test_an_event_carries_the_board_and_the_acting_user():
    task = new_task("creator", TaskFields("t"), NOW, board_id="b_team")
    data = events.task_event("task.updated", task, NOW, version="2", actor_id="editor")
    assert (data["user_id"], data["board_id"], data["actor_id"]) == ("creator", "b_team", "editor")
    meta = events.publish_metadata(data)
    assert (meta["user_id"], meta["board_id"], meta["actor_id"]) == ("creator", "b_team", "editor")


def test_a_personal_boards_event_names_the_owner_as_board_and_actor_by_default():
    data = events.task_event("task.created", new_task("ann", TaskFields("t"), NOW), NOW)
    assert data["board_id"] == data["actor_id"] == data["user_id"] == "ann"


def test_metadata_of_an_event_from_before_boards_has_only_the_user():
    old = {"event_id": "e1", "type": "task.created", "user_id": "ann"}
    assert "board_id" not in events.publish_metadata(old)
