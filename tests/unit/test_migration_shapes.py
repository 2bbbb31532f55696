"""What the task-documents migration makes of a stored document: the current shape, and nothing else."""

from __future__ import annotations

from webapp.migrations.task_documents import current_shape, is_old

CURRENT = {"id": "t1", "owner": "u1", "board_id": "u1", "title": "A task", "outbox": ["e1"],
           "due_at": "2031-06-01T07:00:00+00:00", "created_at": "2026-01-01T00:00:00+00:00"}


def test_a_document_of_the_current_shape_is_left_as_it_is():
    assert current_shape(CURRENT, "u1") is CURRENT and not is_old(CURRENT)


def test_a_document_from_before_boards_is_put_on_its_owners_personal_board():
    old = {k: v for k, v in CURRENT.items() if k != "board_id"}
    assert is_old(old) and current_shape(old, "u1") == CURRENT


def test_events_stored_whole_become_their_ids():
    old = {**CURRENT, "outbox": ["e1", {"event_id": "e2", "type": "task.updated"}]}
    assert is_old(old) and current_shape(old, "u1")["outbox"] == ["e1", "e2"]


def test_times_stored_with_another_offset_become_utc():
    old = {**CURRENT, "due_at": "2031-06-01T09:00:00+02:00", "created_at": "2025-12-31T19:00:00-05:00"}
    migrated = current_shape(old, "u1")
    assert is_old(old) and migrated["due_at"] == CURRENT["due_at"] and migrated["created_at"] == CURRENT["created_at"]
