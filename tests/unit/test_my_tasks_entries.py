""""My tasks" entries: whose a task is, how entries replace each other, the byte bound, the groups. Pure."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from tests.unit.test_task_model import NOW, make
from webapp.dapr_gateway.values import encoded_size
from webapp.my_tasks import entries, index
from webapp.tasks import model


def test_a_task_is_its_assignees_else_its_creators_while_open():
    task = make("Mine")
    assert entries.holder(task) == "u1"
    assert entries.holder(replace(task, assignee="u2")) == "u2"
    assert entries.holder(replace(task, status="completed")) is None
    assert entries.holder(task, deleted=True) is None


def test_a_reassignment_gives_the_new_holder_the_entry_and_the_former_one_a_tombstone():
    before = replace(make("Handed over"), assignee="u2")
    after = replace(before, assignee="u3", revision=before.revision + 1)
    changes = entries.changes_for(before, after)
    assert set(changes) == {"u2", "u3"}
    assert changes["u3"][after.id][1][-1] == after.revision
    assert changes["u2"][after.id][1] == {"deleted": True, "revision": after.revision}
    # Completing takes it from its holder; a new task goes only to its holder.
    done = replace(after, status="completed", revision=after.revision + 1)
    assert set(entries.changes_for(after, done)) == {"u3"}
    assert entries.changes_for(after, done)["u3"][after.id][1]["deleted"] is True
    assert set(entries.changes_for(None, before)) == {"u2"}


def test_an_entry_only_replaces_an_older_one_so_a_late_write_never_brings_a_task_back():
    task = make("Racing")
    newer = replace(task, title="Renamed", revision=task.revision + 1)
    gone = entries.gone_entry(replace(newer, revision=newer.revision + 1))
    value = entries.merged(None, {task.id: entries.live_entry(newer)})
    value = entries.merged(value, {task.id: gone})
    assert entries.merged(value, {task.id: entries.live_entry(task)}) is None  # the late, older write
    assert entries.merged(value, {task.id: entries.live_entry(newer)}) is None
    assert entries.open_tasks(value, {task.board_id}) == []


def test_a_repair_replaces_a_differing_entry_of_the_same_revision():
    task = make("Repaired")
    wrong = entries.live_entry(task)
    wrong[2] = {"z": "Europe/Paris"}
    value = entries.merged(None, {task.id: wrong})
    assert entries.merged(value, {task.id: entries.live_entry(task)}) is None
    assert entries.merged(value, {task.id: entries.live_entry(task)}, repair=True)["rows"][task.id][2] == {"z": "UTC"}


def test_an_index_past_its_bytes_keeps_the_soonest_due_and_says_there_is_more():
    tasks = [make(f"Task {n:03d} " + "x" * 150, due_at=NOW + timedelta(days=n)) for n in range(200)]
    dead = make("Deleted")
    value = {"rows": {t.id: entries.live_entry(t) for t in tasks}}
    value["rows"][dead.id] = entries.gone_entry(dead)
    limit = encoded_size(value) // 2
    kept = entries.bounded(value, limit)
    assert encoded_size(kept) <= limit and kept["more"] is True
    assert dead.id not in kept["rows"]
    due = sorted(t.due_at for t in tasks)
    kept_due = sorted(entries.open_tasks(kept, {tasks[0].board_id}), key=lambda m: m.task.due_at)
    assert [m.task.due_at for m in kept_due] == due[:len(kept_due)]
    small = {"rows": {tasks[0].id: entries.live_entry(tasks[0])}}
    assert entries.bounded(small, limit) is small


def test_groups_are_in_the_persons_zone():
    now = datetime(2031, 5, 1, 20, 0, tzinfo=timezone.utc)  # already 2 May in Kiritimati (UTC+14)
    made = {
        "late": make("Was due", due_at=now - timedelta(hours=1)),
        "tonight": make("Tonight UTC", due_at=now + timedelta(hours=2)),
        "later": make("Next week", due_at=now + timedelta(days=7)),
        "none": make("Someday"),
    }
    value = {"rows": {t.id: entries.live_entry(t) for t in made.values()}}
    mine = entries.open_tasks(value, {"u1"})
    utc = {name: [m.task.title for m in items] for name, items in entries.grouped(mine, now, "UTC").items()}
    assert utc == {"Overdue": ["Was due"], "Today": ["Tonight UTC"], "Upcoming": ["Next week"], "No date": ["Someday"]}
    far = entries.grouped(mine, now, "Pacific/Kiritimati")
    assert [m.task.title for m in far["Today"]] == ["Tonight UTC"]  # 2 May 10:00 there: still today
    assert entries.open_tasks(value, {"another board"}) == []  # only boards the person is on


def test_the_reconcile_rebuilds_entries_from_the_documents():
    task = replace(make("Assigned"), assignee="u2")
    moved = replace(task, assignee="u3", revision=task.revision + 1)
    stale_u2 = {"rows": {task.id: entries.live_entry(task)}}  # the tombstone write was lost
    changes = index.board_changes("u1", [task.id], {task.id: (moved, False)}, ["u1", "u2", "u3"],
                                  {"u2": stale_u2, "u3": None})
    assert changes["u2"] == {task.id: None} and changes["u3"][task.id] == entries.live_entry(moved)
    assert changes["u1"] == {}
    # An entry newer than the document read (a change since) is left alone.
    newer = {"rows": {task.id: entries.live_entry(replace(task, revision=9))}}
    assert index.board_changes("u1", [task.id], {task.id: (moved, False)}, ["u2"], {"u2": newer}) == {"u2": {}}
    assert model.fields_of(task)  # the builder is a real task


def test_the_reconcile_drops_a_tombstone_of_a_task_the_board_no_longer_lists():
    purged = make("Purged")
    created_since = make("Created after the index was read")
    current = {"u1": {"rows": {purged.id: entries.gone_entry(purged),
                               created_since.id: entries.live_entry(created_since)}}}
    assert index.board_changes("u1", [], {}, ["u1"], current) == {"u1": {purged.id: None}}
