"""A change that loses its race leaves no trace, on the store's real semantics.

Redis runs a Dapr state transaction as MULTI/EXEC of one script per operation plus a separate EXPIRE, and keeps
the operations whose ETag check passed (no rollback), so these tests drive real races and stale reads through the
real sidecar and look at what the store kept: expiries, rows, documents.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import cleared, eventually
from webapp.dapr_gateway import Conflict, NotFound, Upsert
from webapp.tasks.model import TaskFields


def _row(gateway, board_id, task_id):
    from webapp.tasks import store
    from webapp.tasks.rows import Summary
    return Summary.from_row(task_id, gateway.get(store.index_key(board_id)).value["rows"][task_id])


def test_a_delete_that_lost_its_race_leaves_no_expiry_on_the_live_task(owner, user, gateway, stack):
    from webapp.tasks import service, store
    task_id = user.create_task(title="Lives on")
    stale = gateway.get(store.task_key(task_id))
    version = str(stale.value["revision"])
    service.set_status(owner, task_id, version, "in_progress")  # the race's winner
    with pytest.raises(Conflict):
        service.delete(owner, task_id, version, read={stale.key: stale})  # its guard fails on the stale ETag
    assert store.load(owner, task_id).status == "in_progress"
    assert stack.ttl_of(store.task_key(task_id)) == -1  # no expiry left behind by the failed guard


def test_a_change_that_lost_its_race_leaves_no_row(owner, user, gateway):
    from webapp.background import sweep
    from webapp.tasks import service, store
    task_id = user.create_task(title="Original")
    stale = gateway.get(store.task_key(task_id))
    revision = stale.value["revision"]
    # The winner's document is stored; its row is not written yet (its request is still on its way).
    gateway.save(stale.key, {**stale.value, "title": "Winner", "revision": revision + 1}, etag=stale.etag)
    with pytest.raises(Conflict):
        service.update(owner, task_id, str(revision), TaskFields("Loser"), read={stale.key: stale})
    assert store.load(owner, task_id).title == "Winner"
    assert _row(gateway, owner, task_id).title != "Loser"
    sweep.sweep_batch([owner])
    assert _row(gateway, owner, task_id).title == "Winner"


def test_a_row_of_the_same_revision_that_says_otherwise_is_repaired_from_the_document(owner, user, gateway):
    from webapp.background import sweep
    from webapp.tasks import store
    task_id = user.create_task(title="Truth")
    index = gateway.get(store.index_key(owner))
    ghost = _row(gateway, owner, task_id)._replace(title="Ghost").to_row()
    gateway.save(index.key, {**index.value, "rows": {**index.value["rows"], task_id: ghost}}, etag=index.etag)
    sweep.sweep_batch([owner])
    assert _row(gateway, owner, task_id).title == "Truth"


def test_a_stored_change_whose_row_keeps_losing_is_answered_as_stored_and_repaired_by_the_relay(
        owner, user, gateway, monkeypatch):
    from webapp import state_lists
    from webapp.background import relay
    from webapp.tasks import relay_marks, service, store
    task_id = user.create_task(title="Before")
    index_key = store.index_key(owner)
    save, transact = gateway.save, gateway.transact

    def bump() -> None:  # another writer changes the index just before each of ours
        index = gateway.get(index_key)
        save(index_key, index.value, etag=index.etag)

    def contended_save(key, value, etag=None, ttl_seconds=None):
        if key == index_key:
            bump()
        return save(key, value, etag=etag, ttl_seconds=ttl_seconds)

    def contended_transact(operations):
        operations = list(operations)
        if any(op.key == index_key for op in operations):
            bump()
        return transact(operations)

    monkeypatch.setattr(gateway, "save", contended_save)
    monkeypatch.setattr(gateway, "transact", contended_transact)
    changed = service.update(owner, task_id, user.version_of(task_id), TaskFields("After"))  # no Conflict
    monkeypatch.undo()
    assert changed.title == "After" and store.load(owner, task_id).title == "After"
    assert _row(gateway, owner, task_id).title == "Before"  # its row is stale for now...
    assert owner in [m["id"] for m in state_lists.read(relay_marks.PENDING_BOARDS)[0]]  # ...and marked for the relay
    relay.run()
    assert _row(gateway, owner, task_id).title == "After"


def test_concurrent_delete_and_status_change_one_wins_and_a_live_task_never_expires(app, owner, user, gateway,
                                                                                       stack):
    from webapp.tasks import service, store
    ids = [user.create_task(title=f"Raced {n}") for n in range(20)]
    outcomes: dict[str, list[str]] = {task_id: [] for task_id in ids}

    def race(task_id: str, version: str, action: str, barrier: threading.Barrier) -> None:
        with app.app_context():
            barrier.wait()
            try:
                if action == "delete":
                    service.delete(owner, task_id, version)
                else:
                    service.set_status(owner, task_id, version, "in_progress")
                outcomes[task_id].append(action)
            except (Conflict, NotFound):
                pass  # lost: to a change (409) or to the deletion (404)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for task_id in ids:
            version = str(gateway.get(store.task_key(task_id)).value["revision"])
            barrier = threading.Barrier(2)
            list(pool.map(lambda action: race(task_id, version, action, barrier), ["delete", "status"]))
    for task_id, won in outcomes.items():
        assert len(won) == 1, (task_id, won)  # one winner per version
        document = gateway.get(store.task_key(task_id)).value
        assert bool(document.get("deleted")) == (won == ["delete"]), (task_id, won, document)
        assert stack.ttl_of(store.task_key(task_id)) == -1, (task_id, won)
        row = gateway.get(store.index_key(owner)).value["rows"][task_id]
        assert (isinstance(row, dict) and row.get("deleted")) == (won == ["delete"]), (task_id, won, row)


def test_a_transaction_refuses_a_guarded_write_with_a_ttl(gateway):
    with pytest.raises(ValueError):
        gateway.transact([Upsert("never-written", {"a": 1}, etag="1", ttl_seconds=60)])
    assert not gateway.get("never-written").exists


def test_a_write_that_expires_anyway_may_carry_a_ttl_beside_its_guard_and_still_fences(gateway, stack):
    """A gone task's remains are written at the version read with their expiry: a stale guard writes nothing
    (``Conflict``); on Redis the expiry applies all the same (the key is to go either way)."""
    from webapp.dapr_gateway import Conflict
    gateway.save("remains-of-a-gone-task", {"items": [{"id": "ev1"}]})
    with pytest.raises(Conflict):
        gateway.transact([Upsert("remains-of-a-gone-task", {"items": []}, etag="999", ttl_seconds=60,
                                 expires_anyway=True)])
    assert gateway.get("remains-of-a-gone-task").value == {"items": [{"id": "ev1"}]}
    current = gateway.get("remains-of-a-gone-task")
    gateway.transact([Upsert(current.key, {"items": []}, etag=current.etag, ttl_seconds=60, expires_anyway=True)])
    assert gateway.get(current.key).value == {"items": []} and 0 < stack.ttl_of(current.key) <= 60


def test_a_tombstone_is_purged_once_its_undo_window_passed_and_its_event_was_handled(owner, user, gateway, stack,
                                                                                    monkeypatch):
    from webapp.background import sweep
    from webapp.activity import history_key
    from webapp.tasks import store
    kept, purged = user.create_task(title="Restored first"), user.create_task(title="Purged")
    for task_id in (kept, purged):
        assert user.action(task_id, "delete").status_code == 302
    # Both deletion events handled: their outbox items are gone.
    for task_id in (kept, purged):
        listed = gateway.get(store.task_key(task_id)).value["outbox"]
        eventually(lambda listed=listed: not any(gateway.get(store.outbox_key(i)).exists for i in listed))
    assert stack.ttl_of(store.task_key(purged)) == -1  # a tombstone carries no expiry: the sweep purges it
    stale = gateway.get(store.task_key(kept))
    assert user.form_post(f"/tasks/{kept}/restore", {}, page_url="/tasks").status_code == 302
    monkeypatch.setattr(store, "UNDO_SECONDS", 0)
    assert sweep.purge_tombstones([stale]) == [stale]  # restored since it was read: its guarded delete fails
    sweep.sweep_batch([owner])
    assert cleared(gateway, stack, store.task_key(purged)) and cleared(gateway, stack, history_key(purged))
    assert purged not in gateway.get(store.index_key(owner)).value["ids"]
    assert store.load(owner, kept).title == "Restored first"
    assert stack.ttl_of(store.task_key(kept)) == -1
    assert user.form_post(f"/tasks/{purged}/restore", {}, page_url="/tasks").status_code == 404


def test_a_purge_that_stopped_after_its_mark_is_carried_on_and_no_undo_brings_the_task_back(owner, user, gateway,
                                                                                            stack, monkeypatch):
    """The sweep stopped while purging a tombstone: nothing it leaves (history, comments) outlives it, and no
    undo brings back a task whose remains may already be gone. Before, the tombstone went first and a purge
    that stopped there left its history and comments in the store for ever (no index lists them any more)."""
    from webapp.background import sweep
    from webapp.dapr_gateway import Unavailable
    from webapp.keys import comment_key, history_key
    from webapp.tasks import store
    task_id = user.create_task(title="Purged in two goes")
    page = f"/tasks/{task_id}"
    assert user.form_post(f"{page}/comments", {"text": "Said before it went"}, page_url=page).status_code == 302
    assert user.action(task_id, "delete").status_code == 302
    tombstone = gateway.get(store.task_key(task_id))
    eventually(lambda: not any(gateway.get(store.outbox_key(i)).exists for i in tombstone.value["outbox"]))
    remains = [history_key(task_id), *(comment_key(task_id, c) for c in tombstone.value["comments"])]
    assert len(remains) == 2 and all(gateway.get(key).exists for key in remains)

    def stopped(_items):
        raise Unavailable("the sidecar went away")

    monkeypatch.setattr(store, "UNDO_SECONDS", 0)
    monkeypatch.setattr(store, "clear_remains", stopped)
    with pytest.raises(Unavailable):
        sweep.purge_tombstones([gateway.get(store.task_key(task_id))])
    assert gateway.get(store.task_key(task_id)).value[store.PURGING]
    assert user.form_post(f"{page}/restore", {}, page_url="/tasks").status_code == 404
    monkeypatch.undo()
    monkeypatch.setattr(store, "UNDO_SECONDS", 0)
    assert sweep.sweep_batch([owner])["purged"] == 1
    assert [key for key in [store.task_key(task_id), *remains] if not cleared(gateway, stack, key)] == []


def test_an_undo_that_read_the_tombstone_before_its_purge_cannot_bring_it_back(owner, user, gateway, stack,
                                                                               monkeypatch):
    """An undo reads the tombstone, the sweep purges it, then the undo writes with the ETag it read: the write
    fails and the task stays gone. Before, the purge deleted the document, and on Redis an ETag-guarded write
    to a missing key succeeds (components-contrib ``setDefaultQuery``): the task came back with its history,
    comments and row gone."""
    from webapp.background import sweep
    from webapp.dapr_gateway import Conflict
    from webapp.tasks import store
    task_id = user.create_task(title="Undone too late")
    assert user.action(task_id, "delete").status_code == 302
    tombstone = gateway.get(store.task_key(task_id))
    eventually(lambda: not any(gateway.get(store.outbox_key(i)).exists for i in tombstone.value["outbox"]))
    read_first = gateway.get(store.task_key(task_id))  # what an undo about to write has read
    monkeypatch.setattr(store, "UNDO_SECONDS", 0)
    assert sweep.purge_tombstones([read_first]) == []
    restored = {k: v for k, v in read_first.value.items() if k != "deleted"}
    with pytest.raises(Conflict):
        gateway.save_versioned(store.task_key(task_id), restored, read_first.etag)
    assert cleared(gateway, stack, store.task_key(task_id))
    assert user.form_post(f"/tasks/{task_id}/restore", {}, page_url="/tasks").status_code == 404


def test_a_tombstone_whose_event_is_not_handled_is_kept(owner, user, gateway, monkeypatch):
    from webapp.background import sweep
    from webapp.tasks import store
    task_id = user.create_task(title="Event pending")
    assert user.action(task_id, "delete").status_code == 302
    tombstone = gateway.get(store.task_key(task_id))
    event_id = tombstone.value["outbox"][-1]
    eventually(lambda: not gateway.get(store.outbox_key(event_id)).exists)
    gateway.save(store.outbox_key(event_id), {"event_id": event_id, "timestamp": tombstone.value["updated_at"]})
    monkeypatch.setattr(store, "UNDO_SECONDS", 0)
    assert sweep.purge_tombstones([tombstone]) == [tombstone]
    gateway.delete(store.outbox_key(event_id))


def _completed_daily_task(owner):
    from datetime import datetime, timedelta, timezone

    from webapp.tasks import service, store
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    task = service.create(owner, TaskFields("Water the plants", due_at=due, recurrence="daily"))
    return service.complete(owner, task.id, store.load(owner, task.id).version)


def _handled_once(gateway, task_id):
    """The task's document lists exactly one event, and that event is the one its history recorded."""
    from webapp.tasks import store
    listed = gateway.get(store.task_key(task_id)).value["outbox"]
    history = (gateway.get(f"activity:{task_id}").value or {}).get("items", [])
    return len(listed) == 1 and [e.get("event_id", e.get("id")) for e in history].count(listed[0]) == 1 and \
        len(history) == 1


def test_two_handlings_of_one_completion_make_one_next_instance_with_one_event(app, owner, gateway):
    from webapp.tasks import model, service, store
    done = _completed_daily_task(owner)
    barrier = threading.Barrier(6)

    def handle(_):
        with app.app_context():
            barrier.wait()
            return service.create_next_instance(done)

    with ThreadPoolExecutor(max_workers=6) as pool:
        made = [t for t in pool.map(handle, range(6)) if t is not None]
    nxt = model.next_instance(done, done.updated_at)
    assert len(made) <= 1 and nxt.id in gateway.get(store.index_key(owner)).value["ids"]
    eventually(lambda: _handled_once(gateway, nxt.id))
    assert gateway.get(store.index_key(owner)).value["ids"].count(nxt.id) == 1


def test_a_handling_that_died_after_creating_the_next_instance_is_completed_by_its_redelivery(app, owner,
                                                                                              gateway):
    from webapp.tasks import model, service, store
    done = _completed_daily_task(owner)
    nxt = model.next_instance(done, done.updated_at)
    eventually(lambda: nxt.id in gateway.get(store.index_key(owner)).value["ids"])  # the real handling
    # As if that handling had died between creating the document and listing it:
    index = gateway.get(store.index_key(owner))
    rows = {k: v for k, v in index.value["rows"].items() if k != nxt.id}
    gateway.save(index.key, {"ids": [i for i in index.value["ids"] if i != nxt.id], "rows": rows},
                 etag=index.etag)
    service.create_next_instance(done)  # the redelivered completion
    assert nxt.id in gateway.get(store.index_key(owner)).value["ids"]
    assert store.load(owner, nxt.id).title == "Water the plants"
