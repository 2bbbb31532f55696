"""Task use cases: change the state, then publish the event. Views call these."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import current_app

from .. import events
from ..dapr_gateway import Conflict, GatewayError
from . import model, store
from .model import Task, TaskFields

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def publish_task_event(event_type: str, task: Task, changes: list[str] | None = None) -> dict:
    """Publish a task lifecycle event on task-events.

    The change is already stored when this runs. A publish failure is logged
    as an error with the whole event (never swallowed silently) and the
    request still succeeds, because the user's change is saved.
    """
    data = events.task_event(event_type, task, utcnow(), version=task.version, changes=changes)
    try:
        store.gateway().publish(current_app.config["TASK_EVENTS_TOPIC"], data, events.publish_metadata(data))
    except GatewayError as err:
        log.error("event %s for task %s NOT published: %s; event=%s", event_type, task.id, err, data)
    return data


def _at_version(current: Task, version: str | None) -> None:
    """``Conflict`` when the caller read the task at another version."""
    if not version or version != current.version:
        raise Conflict(f"task {current.id} is at version {current.version}, not {version}")


def create(user_id: str, fields: TaskFields, tz: str = "UTC") -> Task:
    """Store a new task for ``user_id`` (due times meant in zone ``tz``) and announce it."""
    task = store.insert(model.new_task(user_id, fields, utcnow(), tz=tz))
    publish_task_event("task.completed" if task.is_completed else "task.created", task)
    return task


def update(user_id: str, task_id: str, version: str | None, fields: TaskFields, tz: str | None = None) -> Task:
    """Apply an edit made at ``version``; ``Conflict`` if the task changed since."""
    current = store.load(user_id, task_id)
    _at_version(current, version)
    changed = model.edited(current, fields, utcnow(), tz)
    store.replace(changed, version)
    kind = "task.updated"
    if changed.is_completed and not current.is_completed:
        kind = "task.completed"
    elif current.is_completed and not changed.is_completed:
        kind = "task.reopened"
    publish_task_event(kind, changed, model.changed_fields(current, changed))
    return changed


def complete(user_id: str, task_id: str, version: str | None) -> Task:
    """Mark done; ``Conflict`` if stale, ``InvalidTransition`` if already done."""
    current = store.load(user_id, task_id)
    _at_version(current, version)
    done = model.completed(current, utcnow())
    store.replace(done, version)
    publish_task_event("task.completed", done, ["status"])
    return done


def reopen(user_id: str, task_id: str, version: str | None) -> Task:
    """Back to pending; ``Conflict`` if stale, ``InvalidTransition`` unless completed."""
    current = store.load(user_id, task_id)
    _at_version(current, version)
    again = model.reopened(current, utcnow())
    store.replace(again, version)
    publish_task_event("task.reopened", again, ["status"])
    return again


def create_next_instance(done: Task) -> Task | None:
    """After a recurring task is completed: its next occurrence, created at most once."""
    nxt = model.next_instance(done, utcnow())
    if nxt is None or store.gateway().get(store.task_key(nxt.id)).exists:
        return None  # not recurring, or already created (a redelivered completion)
    created = store.insert(nxt)
    publish_task_event("task.created", created)
    return created


def delete(user_id: str, task_id: str, version: str | None) -> Task:
    """Delete at ``version``; ``Conflict`` if the task changed since."""
    current = store.load(user_id, task_id)
    _at_version(current, version)
    store.remove(current, version)
    publish_task_event("task.deleted", current)
    return current
