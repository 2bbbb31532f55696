"""Task use cases: store the change with its event (one write), then publish it. Views call these.

Each takes the task's *board* id (a user's id is their personal board) and the acting user (``actor``,
default: the board's id, i.e. the owner of a personal board), which the events carry. Who may act on
the board is checked before, by the views (``webapp/boards/access.py``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

from flask import current_app

from .. import events, metrics
from ..dapr_gateway import GatewayError, NotFound
from ..errors import TaskLimitReached
from ..sidecar import gateway
from . import creation, model, outbox, relay_marks, store
from .model import Task, TaskFields
from .store import Reads

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _event(event_type: str, task: Task, changes: list[str] | None = None, actor: str | None = None,
           event_id: str | None = None) -> dict:
    return events.task_event(event_type, task, utcnow(), version=str(task.revision), changes=changes,
                             actor_id=actor, event_id=event_id)


def announce(events: list[dict], board_id: str) -> None:
    """Publish the events just stored with their change (the outbox's fast path; nothing is written back).

    If the broker is down they stay in their outbox items and the relay publishes
    them later (the board is marked for it): the request still succeeds because the
    change and its events are safely stored. If the mark fails too (the sidecar died
    after the transaction), this process publishes them, and makes the mark a row
    that missed its write is owed, once the sidecar is back.
    """
    row_owed = relay_marks.take_owed_mark(board_id)
    unsent: list[dict] = []
    try:
        outbox.publish(events)
    except GatewayError as err:
        log.warning("events %s stay in the outbox for the relay: %s", [e["event_id"] for e in events], err)
        metrics.EVENTS_FAILED.labels(current_app.config["TASK_EVENTS_TOPIC"]).inc()
        unsent = events
    if not (unsent or row_owed):
        return
    try:
        relay_marks.mark_pending(board_id)  # the relay goes through the board's documents
    except GatewayError:  # the sidecar is gone: held here (the sweep's walk if this process dies)
        outbox.publish_later(unsent, boards=[board_id])


def create(user_id: str, fields: TaskFields, tz: str = "UTC", board_id: str | None = None) -> Task:
    """Store a new task by ``user_id`` on ``board_id`` (default: theirs; due times meant in zone ``tz``) and
    announce it; ``Busy`` under a burst, ``TaskLimitReached`` when the board is full."""
    task = model.new_task(user_id, fields, utcnow(), tz=tz, board_id=board_id)
    created = [_event("task.completed" if task.is_completed else "task.created", task, actor=user_id)]
    creation.insert(task, created)
    metrics.TASKS_CREATED.inc()
    announce(created, task.board_id)
    return task


def _edit(fields_for: Callable[[Task], TaskFields], tz: str | None = None, actor: str | None = None) -> store.Change:
    """The change that applies ``fields_for(task)`` to a task, with its event."""
    def apply(current: Task) -> tuple[Task, list[dict]]:
        changed = model.edited(current, fields_for(current), utcnow(), tz)
        kind = "task.updated"
        if changed.is_completed and not current.is_completed:
            kind = "task.completed"
        elif current.is_completed and not changed.is_completed:
            kind = "task.reopened"
        return changed, [_event(kind, changed, model.changed_fields(current, changed), actor)]
    return apply


def _transition(apply: Callable[[Task, datetime], Task], kind: str, actor: str | None) -> store.Change:
    def change(current: Task) -> tuple[Task, list[dict]]:
        changed = apply(current, utcnow())
        return changed, [_event(kind, changed, ["status"], actor)]
    return change


def _store(board_id: str, task_id: str, version: str | None, change: store.Change, read: Reads | None) -> Task:
    changed, stored_events = store.change(board_id, task_id, version, change, read=read)
    if any(e["type"] == "task.completed" for e in stored_events):
        metrics.TASKS_COMPLETED.inc()
    announce(stored_events, board_id)
    return changed


def update(board_id: str, task_id: str, version: str | None, fields: TaskFields, tz: str | None = None,
           actor: str | None = None, read: Reads | None = None) -> Task:
    """Apply an edit made at ``version`` (``"*"``: any); ``Conflict`` if the task changed since.

    ``read`` (here and below): what the access check just read, by key (the task, and the personal board's
    index for a change there): the change starts from it instead of reading again.
    """
    return _store(board_id, task_id, version, _edit(lambda _: fields, tz, actor), read)


def set_status(board_id: str, task_id: str, version: str | None, status: str, actor: str | None = None,
               read: Reads | None = None) -> Task:
    """Change only the status (a card moved), at ``version``; ``Conflict`` if the task changed since."""
    return _store(board_id, task_id, version,
                  _edit(lambda t: replace(model.fields_of(t), status=status), actor=actor), read)


def complete(board_id: str, task_id: str, version: str | None, actor: str | None = None,
             read: Reads | None = None) -> Task:
    """Mark done; ``Conflict`` if stale, ``InvalidTransition`` if already done."""
    return _store(board_id, task_id, version, _transition(model.completed, "task.completed", actor), read)


def reopen(board_id: str, task_id: str, version: str | None, actor: str | None = None,
           read: Reads | None = None) -> Task:
    """Back to pending; ``Conflict`` if stale, ``InvalidTransition`` unless completed."""
    return _store(board_id, task_id, version, _transition(model.reopened, "task.reopened", actor), read)


def create_next_instance(done: Task) -> Task | None:
    """After a recurring task is completed: its next occurrence, created at most once (none once the series
    leaves the supported range).

    Its id and its creation event's id are derived, so two handlings of one completion, or a
    handling that died half-way and is redelivered, make one task with one event.
    """
    nxt = model.next_instance(done, utcnow())
    if nxt is None:
        if done.recurrence != "none" and done.anchor_at:
            log.info("series %s ends with task %s: its next occurrence falls outside the supported range",
                     done.series_id, done.id)
        return None

    def created(task: Task) -> list[dict]:
        return [_event("task.created", task, event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"created:{task.id}").hex)]

    try:
        listed = creation.insert_once(nxt, created)
    except TaskLimitReached as err:
        log.warning("next instance of %s not created: %s", done.id, err)
        return None  # the series stops at the list's limit; the completion is still handled
    except NotFound:
        return None  # its board was deleted since
    if listed is None:
        return None  # already listed: another handling of the same completion created it
    task, stored_events = listed
    metrics.TASKS_CREATED.inc()
    announce(stored_events, task.board_id)
    return task


def delete(board_id: str, task_id: str, version: str | None, actor: str | None = None,
           read: Reads | None = None) -> Task:
    """Delete at ``version`` (a tombstone that ``restore`` can bring back); ``Conflict`` if it changed since."""
    def bury(current: Task) -> tuple[Task, list[dict]]:
        tombstone = model.buried(current, utcnow())
        return tombstone, [_event("task.deleted", tombstone, actor=actor)]
    tombstone, stored_events = store.change(board_id, task_id, version, bury, delete=True, read=read)
    announce(stored_events, board_id)
    return tombstone


def restore(board_id: str, task_id: str, actor: str | None = None, read: Reads | None = None) -> Task:
    """Undo a delete while its tombstone lasts; ``NotFound`` if there is none (or it is not the user's).

    Announced as ``task.created`` (changes: ``restored``): to every subscriber the task is there again.
    """
    def unbury(tombstone: Task) -> tuple[Task, list[dict]]:
        task = model.restored(tombstone, utcnow())
        return task, [_event("task.created", task, ["restored"], actor)]
    task, stored_events = store.restore(board_id, task_id, unbury, read=read)
    announce(stored_events, board_id)
    return task


def change_checklist(board_id: str, task_id: str, change: Callable[[tuple], tuple], actor: str | None = None,
                     read: Reads | None = None) -> Task:
    """Apply ``change`` (the checklist now → the new one) to the task as it is now, whatever its version:
    item-level changes merge with others' (``change`` refuses one whose item changed). Whatever ``change``
    raises (``checklist.ItemChanged``, ``ValueError``) passes through; ``NotFound`` if the task is gone.
    A change that leaves the checklist as it is (a rename to the same text) stores nothing."""
    def apply(current: Task) -> tuple[Task, list[dict]]:
        items = change(current.checklist)
        if items == current.checklist:
            raise _Unchanged(current)
        return _edit(lambda t: replace(model.fields_of(t), checklist=items), actor=actor)(current)
    try:
        return _store(board_id, task_id, store.ANY_VERSION, apply, read)
    except _Unchanged as unchanged:
        return unchanged.task


class _Unchanged(Exception):
    """A checklist change that changes nothing (nothing is written)."""

    def __init__(self, task: Task):
        super().__init__(task.id)
        self.task = task
