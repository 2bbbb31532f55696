"""The ``task-events`` stream: what a task's change does after the request that made it.

Each handler is idempotent on its own, so a redelivered event has exactly one
effect: the history, the feed and the inbox add an entry once per event id (our
events' CloudEvent id), a notification is delivered once per notification id
(the notifier's record), the next instance of a recurring task has a derived id,
and jobs follow the task's current state. The task-events handler reads what it
needs in one bulk read and writes in one transaction (``_record``). Every field a
handler uses is checked first: an event that lacks one can never succeed and is
dropped to the dead-letter topic.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable

from flask import current_app

from .. import activity, notifications
from ..boards import feed
from ..boards import model as boards_model
from ..boards import store as boards_store
from ..comments.notices import notify_comment
from ..dapr_gateway import Delete, Item, NotFound, Upsert
from ..events import COMMENTED, TASK_EVENT_TYPES
from ..keys import board_key, feed_key, history_key, outbox_key, processed_key, task_key, user_key, watchers_key
from ..boards import followers
from ..sidecar import gateway, retry_on_conflict
from ..tasks import service, store
from ..tasks.model import Task
from .checks import Malformed, require, require_time

log = logging.getLogger(__name__)


def check_task_event(data: dict) -> None:
    """Every field the task-events handler reads is there and well-formed; ``Malformed`` otherwise."""
    require(data, "event_id", "type", "task_id", "user_id")
    for optional in ("board_id", "actor_id"):  # an event may name only its task's owner
        if optional in data:
            require(data, optional)
    if data["type"] not in TASK_EVENT_TYPES:
        raise Malformed(f"unknown type {data['type']!r}")
    require_time(data, "timestamp")
    if not isinstance(data.get("changes") or [], list):
        raise Malformed("changes is not a list")
    if data.get("title") is not None and not isinstance(data["title"], str):
        raise Malformed("title is not text")
    if not isinstance(data.get("mentions") or [], list):
        raise Malformed("mentions is not a list")


def board_of(data: dict) -> str:
    """The board an event's task is on (an event that names only the owner: their personal board)."""
    return data.get("board_id") or data["user_id"]


def _created_or_added(item: Item, value: dict | None, ttl_seconds: int | None = None) -> list[Upsert]:
    """The write of ``value`` over ``item`` as read: in the transaction with its ETag; a key not there yet is
    created at once (first-write: of two concurrent creators one conflicts and retries; ``ttl_seconds`` only
    then, on its own guarded write); None: nothing."""
    if value is None:
        return []
    if not item.exists:
        gateway().create(item.key, value, ttl_seconds=ttl_seconds)
        return []
    return [Upsert(item.key, value, etag=item.etag)]


def _record(data: dict) -> tuple[Task | None, Task | None, dict, Item]:
    """What a task event changes in state, in one bulk read and one transaction: the task's history and the
    board's feed (each once per event id), the event's outbox item retired, its handling recorded. Before
    them, the row and "My tasks" entry of a change that left them to its handling (``store.follow_handled``).

    Returns the task as it is now (None if gone), its tombstone on the event's board (None unless it is one),
    its board's record and its watchers, as read.
    """
    gw = gateway()
    board_id, task_id = board_of(data), data["task_id"]
    owner = [user_key(board_id)] if boards_model.is_personal(board_id) else []  # if it has no record yet
    item, board_item, watching, history, feed_item, *user = gw.get_many([
        task_key(task_id), board_key(board_id), watchers_key(task_id),
        history_key(task_id), feed_key(board_id), *owner])
    task = store.task_of(item) if store.is_live(item, board_id) else None  # only on the board the event names
    tombstone = store.task_of(item) if task is None and store.owned(item, board_id) else None
    try:
        board = boards_store.load_board(board_id, board_item, owner=user[0] if user else None).value
    except NotFound:
        board = {}
    writes = []
    # A late event of a deleted task must not re-create its history; a deletion is recorded (shown again
    # if it is undone) unless the id is now someone else's task.
    purged = item.exists and item.value.get(store.PURGING)  # its remains cleared: nothing is written back
    if task is not None or (data["type"] == "task.deleted" and not purged
                            and (not item.exists or store.owned(item, board_id))):
        actor = feed.name_of(board, data.get("actor_id") or data["user_id"])
        # A late deletion event of a task already purged leaves a history that expires on its own.
        orphan = None if item.exists else store.UNDO_SECONDS
        writes += _created_or_added(history, activity.with_entry(history.value, data, actor), orphan)
        writes += _created_or_added(feed_item, feed.with_entry(feed_item.value, data, board,
                                                               task.assignee if task else None))
    if task is not None and store.followed_by_handler([data]):
        store.follow_handled(task)  # before the feed announces the change, so a page reloaded for it shows it
    ttl = int(current_app.config["IDEMPOTENCY_TTL_SECONDS"])
    gw.transact([*writes, Delete(outbox_key(data["event_id"])),
                 Upsert(processed_key("task-events", data["event_id"]), {"at": data["timestamp"]}, ttl_seconds=ttl)])
    return task, tombstone, board, watching


SyncJobs = Callable[[str, str, "Task | None", bool], None]  # syncs every per-task job (the registry's)


def no_job_yet(data: dict, task: Task | None, job_fields: Iterable[str]) -> bool:
    """Whether no per-task job can exist for the event's task, so syncing them needs no call: its creation, or
    a task none of whose ``job_fields`` (the times its jobs follow) is set and whose change did not touch them
    (earlier events' syncs removed any job of a time since cleared)."""
    if data["type"] == "task.created":
        return True
    fields = set(job_fields)
    touched = fields & set(data.get("changes") or [])
    return task is not None and not any(getattr(task, f) for f in fields) and not touched


def on_task_event(data: dict, sync_jobs: SyncJobs, job_fields: Iterable[str]) -> None:
    """task-events: the history, the board's feed and the task's jobs (``sync_jobs``) follow the task; the
    task's followers hear of it (``Malformed``, ``GatewayError``)."""
    check_task_event(data)
    task, tombstone, board, watching = retry_on_conflict(lambda: _record(data), "task event")
    if data["type"] == COMMENTED:  # the task did not change: its jobs stay as they are
        if task is not None:
            notify_comment(data, task, board, followers.watchers(watching, task.owner))
        return
    sync_jobs(data["user_id"], data["task_id"], task, no_job_yet(data, task, job_fields))
    if task is not None:
        followers.notify_event(data, task, board, followers.watchers(watching, task.owner))
    elif data["type"] == "task.completed" and data["user_id"] in (board.get("members") or {}):
        # Gone since: its creator still hears of it, if still on the board (no one removed from it hears more).
        notifications.send(
            notification_id=data["event_id"], user_id=data["user_id"], task_id=data["task_id"],
            kind="task.completed", message=f"“{data.get('title') or 'A task'}” was completed.")
    elif tombstone is not None:  # deleted since: nothing new is sent, what was delivered is announced
        followers.notify_event(data, tombstone, board, followers.watchers(watching, tombstone.owner),
                               announce_only=True)
    if data["type"] == "task.completed" and task is not None and task.is_completed:
        service.create_next_instance(task)  # not reopened (or deleted) before this was handled
