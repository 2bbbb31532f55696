"""Sizes in bytes: every stored item and every bulk read stays under the sidecar's message limit, whatever the text."""

from __future__ import annotations

import json
import uuid

EMOJI_TITLE = "🗂" * 200  # 200 characters, 800 bytes of UTF-8


def test_a_character_is_stored_in_its_utf8_bytes():
    from webapp.dapr_gateway.values import _dumps
    assert len(_dumps("😀")) == 6 and _dumps({"t": "é"}) == '{"t":"é"}'.encode()


def test_a_list_at_its_size_in_bytes_refuses_a_new_task_and_a_longer_title_with_a_clear_error(app, user, owner,
                                                                                            gateway, monkeypatch):
    from webapp.tasks import store
    kept = user.create_task(title="Short")
    size = len(json.dumps(gateway.get(store.index_key(owner)).value, separators=(",", ":")).encode())
    monkeypatch.setitem(app.config, "INDEX_MAX_BYTES", size + 400)
    resp = user.form_post("/tasks/new", {"title": EMOJI_TITLE, "status": "pending", "priority": "medium",
                                         "recurrence": "none"})
    assert resp.status_code == 422 and "This list is full" in resp.get_data(as_text=True)
    assert gateway.get(store.index_key(owner)).value["ids"] == [kept]
    edited = {"title": EMOJI_TITLE, "status": "pending", "priority": "medium", "recurrence": "none",
              "version": user.version_of(kept)}
    resp = user.form_post(f"/tasks/{kept}/edit", edited)
    assert resp.status_code == 422 and "This list is full" in resp.get_data(as_text=True)
    assert store.load(owner, kept).title == "Short"  # nothing stored
    assert user.action(kept, "complete").status_code == 302  # a change that does not grow the list still works
    assert user.get("/tasks").status_code == 200


def test_a_batch_past_the_message_limit_is_skipped_and_the_sweep_walks_on(gateway, app, monkeypatch):
    """One batch refused as too large (an item the sidecar cannot carry) costs that batch alone: the run sweeps
    the others and moves its cursor on, so no item can stall the walk for good."""
    from webapp.background import sweep
    from webapp.dapr_gateway import TooLarge
    from webapp.keys import SWEEP_CURSOR
    too_big, fine = (f"{name}{uuid.uuid4().hex[:12]}" for name in ("toobig", "fine"))
    real_batch, swept = sweep.sweep_batch, []

    def batch(user_ids):
        if too_big in user_ids:
            raise TooLarge("bulk get: grpc: received message larger than max (4194305 vs. 4194304)")
        swept.extend(user_ids)
        return real_batch(user_ids)

    monkeypatch.setattr(sweep.users_index, "page_after", lambda cursor, size: ([too_big, fine], fine))
    monkeypatch.setattr(sweep, "batches", lambda user_ids: [[u] for u in user_ids])
    monkeypatch.setattr(sweep, "sweep_batch", batch)
    cursor = gateway.get(SWEEP_CURSOR)
    try:
        with app.app_context():
            counts = sweep.run()
        assert (counts["skipped"], counts["users"], swept) == (1, 1, [fine])
        assert gateway.get(SWEEP_CURSOR).value == fine
    finally:
        gateway.save(SWEEP_CURSOR, cursor.value) if cursor.exists else gateway.delete(SWEEP_CURSOR)


def test_a_bulk_read_past_the_message_limit_is_read_in_parts_and_the_sweep_goes_on(gateway, app):
    from webapp.background import sweep
    from webapp.tasks import store
    owners = [f"big{uuid.uuid4().hex[:12]}" for _ in range(3)]
    filler = "x" * 1_400_000  # three such indexes are more than one 4 MiB message
    for board_id in owners:
        gateway.save(store.index_key(board_id), {"ids": [], "rows": {}, "note": filler})
    items = gateway.get_many([store.index_key(b) for b in owners])
    assert [it.value["note"] == filler for it in items] == [True, True, True]
    with app.app_context():
        counts = sweep.sweep_batch(owners)
    assert counts["users"] == 3
    for board_id in owners:
        gateway.delete(store.index_key(board_id))
