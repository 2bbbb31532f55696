"""The checker's invariants on made-up histories and stored states (no stack): each catches what it is for
and passes a consistent run."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from webapp.tasks.model import TaskFields, new_task
from webapp.tasks.rows import tombstone_row

from .history import History
from .invariants_data import acknowledged_changes, expected_row, expiries, indexes
from .invariants_events import exactly_once, memberships, removed_members
from .store_view import Snapshot

pytestmark = pytest.mark.consistency
BOARD, ALICE, BOB = "b_1", "alice", "bob"
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def doc(task_id="t1", title="c1", revision=1, **extra) -> dict:
    fields = TaskFields(title=title, description="", status="pending", priority="medium", tags=(), due_at=None,
                        remind_at=None, recurrence="none", estimate=None, assignee=None)
    return {**new_task(ALICE, fields, NOW, task_id=task_id, board_id=BOARD).to_dict(), "revision": revision, **extra}


class Ops:
    """A history built by hand: ``add(kind, status, ...)`` one answered operation after the other."""

    def __init__(self):
        self.history = History()

    def add(self, kind, status, user=ALICE, revision=None, result=None, **kw):
        op = self.history.begin(0, user, kind, "api", board=BOARD, **kw)
        self.history.end(op, status)
        op.revision, op.result = revision, result or {}
        return op

    @property
    def ops(self):
        return self.history.ops


def created(ops: Ops, task_id="t1"):
    return ops.add("create", 201, task=task_id, args={"title": "c1"}, revision=1, result={"title": "c1"})


def test_a_consistent_task_breaks_nothing():
    ops = Ops()
    created(ops)
    ops.add("edit", 200, task="t1", args={"title": "e1"}, revision=2, result={"title": "e1", "status": "pending"})
    ops.add("edit", 409, task="t1", args={"title": "e2"})
    stored = doc(title="e1", revision=2)
    snap = Snapshot(tasks={"t1": stored}, indexes={BOARD: {"ids": ["t1"], "rows": {"t1": expected_row(stored)}}},
                    boards={BOARD: {}}, ttls={"task:t1": -1, f"tasks-of:{BOARD}": -1},
                    histories={"t1": {"items": [{"id": "ev1", "at": NOW.isoformat()}, {"id": "ev2", "at": NOW.isoformat()}]}})
    assert acknowledged_changes(ops.ops, snap) + expiries(snap) + indexes(ops.ops, snap) + exactly_once(ops.ops, snap) == []


def test_a_lost_acknowledged_change_and_a_refused_one_shown_are_caught():
    ops = Ops()
    created(ops)
    ops.add("edit", 200, task="t1", args={"title": "e1"}, revision=2, result={"title": "e1"})
    ops.add("edit", 409, task="t1", args={"title": "e2"})
    found = acknowledged_changes(ops.ops, Snapshot(tasks={"t1": doc(title="e2", revision=1)}))
    assert any(v.invariant == "acknowledged" and "lost" in v.detail for v in found)
    assert any(v.invariant == "unacknowledged" and "refused" in v.detail for v in found)


def test_two_changes_acknowledged_as_one_revision_are_caught():
    ops = Ops()
    created(ops)
    ops.add("edit", 200, task="t1", args={"title": "e1"}, revision=2, result={"title": "e1"})
    ops.add("status", 200, task="t1", revision=2, result={"status": "completed"})
    found = acknowledged_changes(ops.ops, Snapshot(tasks={"t1": doc(title="e1", revision=2)}))
    assert any("both acknowledged as revision 2" in v.detail for v in found)


def test_a_live_task_with_an_expiry_and_an_immortal_tombstone_are_caught():
    snap = Snapshot(tasks={"t1": doc(), "t2": doc("t2", deleted=True)}, ttls={"task:t1": 604_000, "task:t2": -1})
    assert [v.tasks for v in expiries(snap)] == [["t1"], ["t2"]]  # t2: listed by no index, so never purged
    listed = Snapshot(tasks={"t2": doc("t2", deleted=True)}, indexes={BOARD: {"ids": ["t2"]}}, ttls={"task:t2": -1})
    assert expiries(listed) == []  # the sweep purges it from its board's index
    detached = Snapshot(tasks={"t3": {**doc("t3", deleted=True), "board_id": f"{BOARD}:deleted"}},
                        ttls={"task:t3": -1})
    assert [v.tasks for v in expiries(detached)] == [["t3"]]  # off a deleted board: it must expire
    detached.ttls["task:t3"] = 3600
    assert expiries(detached) == []
    detached.boards[BOARD], detached.histories["t3"] = {"deleted": True}, {"items": []}
    assert [v.tasks for v in expiries(detached)] == [["t3"]]  # its history outlives it
    detached.ttls["activity:t3"] = 3600
    assert expiries(detached) == []  # cleared, expiring: a fence against a late handler's write
    detached.histories["t3"] = {"items": [{"id": "ev1"}]}
    assert [v.tasks for v in expiries(detached)] == [["t3"]]  # written back after it was cleared


def test_a_purged_task_is_kept_only_as_an_expiring_fence_with_its_history_cleared():
    purged = {**doc("t4", deleted=True), "purging": True}
    snap = Snapshot(tasks={"t4": purged}, ttls={"task:t4": -1})
    assert [v.tasks for v in expiries(snap)] == [["t4"]]  # a fence that never expires
    snap.ttls["task:t4"] = 3600
    assert expiries(snap) == []
    snap.histories["t4"], snap.ttls["activity:t4"] = {"items": []}, -1
    assert [v.tasks for v in expiries(snap)] == [["t4"]]  # its history never expires
    snap.ttls["activity:t4"] = 3600
    assert expiries(snap) == []


def test_ghost_and_hidden_cards_are_caught():
    ops = Ops()
    created(ops)
    created(ops, "t2")
    live, gone = doc(), doc("t2", title="c1", deleted=True, revision=2)
    snap = Snapshot(tasks={"t1": live, "t2": gone}, boards={BOARD: {}},
                    indexes={BOARD: {"ids": ["t2"], "rows": {"t2": expected_row(doc("t2"))}}})
    found = {v.detail.split(":")[0] for v in indexes(ops.ops, snap)}
    assert found == {"ghost card", "hidden card"}
    snap.indexes[BOARD] = {"ids": ["t1", "t2"], "rows": {"t1": expected_row(live), "t2": tombstone_row(2)}}
    assert indexes(ops.ops, snap) == []


def test_a_double_delivery_and_a_delivery_missing_from_the_inbox_are_caught():
    snap = Snapshot(tasks={"t1": doc()}, inboxes={BOB: []},
                    deliveries=[{"user_id": BOB, "notification_id": "ev1-bob", "task_id": "t1"}] * 2)
    details = [v.detail for v in exactly_once([], snap)]
    assert any("delivered 2 times" in d for d in details) and any("never reached" in d for d in details)


def test_a_removed_member_reading_or_notified_is_caught_until_invited_back():
    ops = Ops()
    created(ops)
    removal = ops.add("remove", 204, args={"member": BOB})
    read = ops.add("read", 200, user=BOB)
    event_at = datetime.fromtimestamp(read.end + 1, timezone.utc).isoformat()
    snap = Snapshot(tasks={"t1": doc()}, histories={"t1": {"items": [{"id": "ev9", "at": event_at}]}},
                    deliveries=[{"user_id": BOB, "notification_id": "ev9-assigned", "task_id": "t1"}])
    assert len(removed_members(ops.ops, snap)) == 2
    ops.add("invite", 201, args={"member": BOB})
    ops.ops[-1].start = (removal.end + read.start) / 2  # invited back before that read started
    assert removed_members(ops.ops, snap) == []


def test_membership_records_follow_the_last_acknowledged_change():
    ops = Ops()
    ops.add("invite", 201, args={"member": BOB})
    ops.add("remove", 204, args={"member": BOB})
    snap = Snapshot(boards={BOARD: {"members": {ALICE: {}}}}, memberships={BOB: {BOARD: {"role": "editor"}}})
    assert [v.users for v in memberships(ops.ops, snap)] == [[BOB]]  # boards-of still lists the board
    snap.memberships[BOB] = {}
    assert memberships(ops.ops, snap) == []
    ops.add("delete_board", 204)
    assert len(memberships(ops.ops, snap)) == 1  # the deleted board's record is still stored


def test_a_deletion_whose_answer_was_lost_counts_once_the_record_says_deleted():
    """A deletion answered 503 that went on to the end (the owner's client gone, or the sweep finished it): its
    record keeps its members while it is kept, and nobody lists it: that is a deleted board, not a lost
    invitation (PostgreSQL soak, seed 772811); a member still listing it is caught."""
    ops = Ops()
    ops.add("new_board", 201)
    ops.add("invite", 201, args={"member": BOB})
    ops.add("delete_board", 503)
    record = {"members": {ALICE: {"role": "owner"}, BOB: {"role": "editor"}}, "deleted": True}
    assert memberships(ops.ops, Snapshot(boards={BOARD: record}, memberships={BOB: {}, ALICE: {}})) == []
    found = memberships(ops.ops, Snapshot(boards={BOARD: record}, memberships={BOB: {BOARD: {"role": "editor"}}}))
    assert [(v.invariant, v.users) for v in found] == [("removed-member", [BOB])]


def test_a_board_gone_though_its_deletion_was_refused_is_caught():
    ops = Ops()
    ops.add("new_board", 201)
    ops.add("invite", 201, args={"member": BOB})
    ops.add("delete_board", 409)
    snap = Snapshot(memberships={BOB: {BOARD: {"role": "editor"}}})
    found = memberships(ops.ops, snap)
    assert [(v.invariant, v.users) for v in found] == [("unacknowledged", [BOB])]
    assert "409" in found[0].detail


def test_a_task_stored_by_a_create_whose_answer_was_lost_is_not_an_extra_event():
    """A create answered 503 may still have been stored (the sidecar applied it, the answer timed out): its
    client never learned the id, so the task is attributed by its title, and its one history entry is owed to
    that unanswered create; a second entry is still caught."""
    ops = Ops()
    ops.add("create", 503, args={"title": "c1"})
    entry = {"id": "ev1", "at": NOW.isoformat()}
    snap = Snapshot(tasks={"t9": doc(task_id="t9")}, histories={"t9": {"items": [entry]}})
    assert exactly_once(ops.ops, snap) == []
    twice = Snapshot(tasks={"t9": doc(task_id="t9")}, histories={"t9": {"items": [entry, {**entry, "id": "ev2"}]}})
    assert any("2 entries for 0 acknowledged and 1 unanswered" in v.detail for v in exactly_once(ops.ops, twice))
