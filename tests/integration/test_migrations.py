"""``flask migrate-all``: every old shape a release left in state is brought to the current one, none remains."""

from __future__ import annotations

import uuid

from tests.integration.test_bounds import _remove
from tests.integration.test_events_and_inbox import redis_ttl
from webapp import migrations
from webapp.keys import (PENDING_BOARDS_LEGACY, USERS_INDEX_LEGACY, board_key, memberships_key,
                         history_key, outbox_key, task_key, user_key, users_index_shard_key)
from webapp.migrations import task_documents


def _event(task_id: str, user_id: str, event_id: str) -> dict:
    return {"event_id": event_id, "type": "task.updated", "task_id": task_id, "user_id": user_id,
            "title": "Stored the old way", "status": "pending", "priority": "medium",
            "timestamp": "2026-01-01T00:00:00+00:00", "version": "1", "changes": []}


def test_migrate_all_leaves_no_old_shape_and_a_second_run_finds_none(app, stack, user, owner, gateway):
    old_ids = [uuid.uuid4().hex for _ in range(3)]
    gateway.save(USERS_INDEX_LEGACY, {"items": [{"id": i} for i in old_ids]})
    gateway.save(PENDING_BOARDS_LEGACY, {"items": [{"id": owner, "mark": "from-an-old-replica"}]})
    gateway.delete(memberships_key(owner))
    gateway.delete(board_key(owner))
    old = user.create_task(title="Before boards")
    item = gateway.get(task_key(old))
    event_id = uuid.uuid4().hex
    shape = {k: v for k, v in item.value.items() if k != "board_id"}
    gateway.save(item.key, {**shape, "due_at": "2031-06-01T09:00:00+02:00",
                            "outbox": [_event(old, owner, event_id)]}, etag=item.etag)
    gone = user.create_task(title="Deleted long ago")
    assert user.action(gone, "delete").status_code == 302
    tombstone = gateway.get(task_key(gone))
    gateway.save(tombstone.key, tombstone.value, etag=tombstone.etag, ttl_seconds=3600)  # as older code did
    assert redis_ttl(stack, "taskboard", task_key(gone)) > 0
    with app.app_context():
        assert migrations.remaining()["task-documents"] >= 1

    result = app.test_cli_runner().invoke(args=["migrate-all"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert migrations.remaining() == {m.NAME: 0 for m in migrations.MIGRATIONS}
    assert not gateway.get(USERS_INDEX_LEGACY).exists
    assert all({"id": i} in gateway.get(users_index_shard_key(i)).value["items"] for i in old_ids)
    assert not gateway.get(PENDING_BOARDS_LEGACY).exists
    # its mark moved to PENDING_BOARDS (the stack's relay may have gone through the board and removed it since)
    assert gateway.get(board_key(owner)).exists and owner in gateway.get(memberships_key(owner)).value["boards"]
    stored = gateway.get(task_key(old)).value
    assert stored["board_id"] == owner and stored["due_at"] == "2031-06-01T07:00:00+00:00"
    # The event now waits as an outbox item of its own, or the stack's relay already published it and its
    # handling recorded it in the task's history (and removed the item and the document's entry)
    handled = any(entry.get("id") == event_id for entry in (gateway.get(history_key(old)).value or {}).get("items", []))
    assert handled or (stored["outbox"] == [event_id]
                       and gateway.get(outbox_key(event_id)).value["event_id"] == event_id)
    assert redis_ttl(stack, "taskboard", task_key(gone)) == -1  # the sweep purges it now, nothing expires it
    assert "Before boards" in user.get(f"/tasks/{old}").get_data(as_text=True)
    assert user.action(old, "complete").status_code == 302

    again = app.test_cli_runner().invoke(args=["migrate-all"])
    assert again.exit_code == 0 and again.output.count("0 of the old shape left") == len(migrations.MIGRATIONS)
    _remove(gateway, old_ids)


def test_the_migration_of_one_board_rewrites_only_what_is_old(app, user, owner, gateway):
    current = user.create_task(title="Current shape")
    before = gateway.get(task_key(current))
    with app.app_context():
        assert task_documents.migrate_board(owner) == 0
    assert gateway.get(task_key(current)).etag == before.etag  # a live document of the current shape: untouched


def test_migrate_all_passes_over_a_deleted_account(app, gateway):
    """A deleted account's record keeps only its id (accounts/deletion.py): no board to give, no failure (CI:
    `migrate-all` ended in KeyError 'username' once another test had deleted an account)."""
    from datetime import datetime, timezone

    from tests.conftest import Browser
    from tests.integration.boards import user_id_of

    gone = Browser(app.test_client())
    gone.register()
    user_id = user_id_of(gone)
    gateway.save(user_key(user_id), {"id": user_id, "deleted": True,
                                     "deleted_at": datetime.now(timezone.utc).isoformat()})
    gateway.delete(memberships_key(user_id))
    result = app.test_cli_runner().invoke(args=["migrate-all"])
    assert result.exit_code == 0, result.output
    assert not gateway.get(memberships_key(user_id)).exists  # no personal board given to nobody
