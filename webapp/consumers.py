"""What the web app does with the events it receives.

Each handler is idempotent on its own (set semantics on event ids), and
``once`` also remembers processed CloudEvent ids for a day, so a redelivered
event has exactly one effect. Every field a handler uses is checked first: an
event that lacks one can never succeed and is dropped to the dead-letter topic.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from . import activity, digests, jobs, notifications, overdue, reminders
from .boards import feed
from .boards import store as boards_store
from .dapr_gateway import Item, NotFound, Upsert
from .notifications import followers
from .tasks import service, store
from .tasks.model import Task
from .events import TASK_EVENT_TYPES
from .sidecar import gateway

log = logging.getLogger(__name__)


class Malformed(ValueError):
    """The event cannot be processed, now or ever: it goes to the dead-letter topic."""


def _processed_key(stream: str, event_id: str) -> str:
    return f"processed:{stream}:{event_id}"


def once(stream: str, envelope: dict, handler) -> str:
    """Run ``handler`` for a CloudEvent unless its id was already processed."""
    gw = gateway()
    key = _processed_key(stream, str(envelope["id"]))
    if gw.get(key).exists:
        log.info("duplicate delivery of %s on %s ignored", envelope["id"], stream)
        return "SUCCESS"
    handler(envelope["data"])
    gw.save(key, {"at": envelope.get("time")}, ttl_seconds=int(current_app.config["IDEMPOTENCY_TTL_SECONDS"]))
    return "SUCCESS"


def _require(data: dict, *names: str) -> None:
    """Each of ``names`` is a non-empty string; ``Malformed`` otherwise."""
    missing = [n for n in names if not isinstance(data.get(n), str) or not data[n].strip()]
    if missing:
        raise Malformed(f"missing or not text: {', '.join(missing)}")


def _require_time(data: dict, name: str, optional: bool = False) -> None:
    """``data[name]`` is an ISO 8601 date-time with an offset (absent too, if ``optional``)."""
    value = data.get(name)
    if value is None and optional:
        return
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Malformed(f"{name} is not an ISO 8601 date-time: {str(value)[:40]!r}") from None
    if parsed.tzinfo is None:
        raise Malformed(f"{name} has no UTC offset")


def check_task_event(data: dict) -> None:
    """Every field the task-events handler reads is there and well-formed; ``Malformed`` otherwise."""
    _require(data, "event_id", "type", "task_id", "user_id")
    for optional in ("board_id", "actor_id"):  # absent from events stored before boards
        if optional in data:
            _require(data, optional)
    if data["type"] not in TASK_EVENT_TYPES:
        raise Malformed(f"unknown type {data['type']!r}")
    _require_time(data, "timestamp")
    if not isinstance(data.get("changes") or [], list):
        raise Malformed("changes is not a list")
    if data.get("title") is not None and not isinstance(data["title"], str):
        raise Malformed("title is not text")


def check_notification_sent(data: dict) -> None:
    """A ``notification.sent`` event carries what the inbox shows; ``Malformed`` otherwise."""
    _require(data, "notification_id", "user_id", "message")
    _require_time(data, "timestamp", optional=True)


def board_of(data: dict) -> str:
    """The board an event's task is on (events from before boards name only the owner: their personal board)."""
    return data.get("board_id") or data["user_id"]


def _live_task(data: dict) -> Task | None:
    try:
        return store.load(board_of(data), data["task_id"])  # only on the board the event names
    except NotFound:
        return None  # deleted (or a tombstone waiting for its last event), or not on that board


def _not_someone_elses(data: dict) -> bool:
    item = gateway().get(store.task_key(data["task_id"]))
    return not item.exists or store.owned(item, board_of(data))


def _set_ttl(task_id: str, ttl_seconds: int) -> None:
    """Give a task's history and overdue marker a TTL (``store.PERSIST``: none) in one read and one write."""
    gw = gateway()
    keys = [activity.history_key(task_id), overdue.marker_key(task_id)]
    items = [it for it in gw.get_many(keys) if it.exists]
    if items:
        gw.transact([Upsert(it.key, it.value, etag=it.etag, ttl_seconds=ttl_seconds) for it in items])


def expire_with_tombstone(task_id: str) -> None:
    """A deleted task's history and marker expire when its tombstone can no longer be restored."""
    _set_ttl(task_id, store.UNDO_SECONDS)


def keep_again(task_id: str) -> None:
    """An undone deletion: the history and marker are the task's again, without a TTL."""
    _set_ttl(task_id, store.PERSIST)


def _board_and_watchers(data: dict) -> tuple[dict, Item]:
    """The record of the event's board (names, members; {} if deleted) and the task's watchers: one read."""
    board_item, watching = gateway().get_many([boards_store.board_key(board_of(data)),
                                               followers.watchers_key(data["task_id"])])
    try:
        return boards_store.load_board(board_of(data), board_item).value, watching
    except NotFound:
        return {}, watching


def on_task_event(data: dict) -> None:
    """task-events: the history, the board's feed, the reminder and the overdue job follow the task; the
    task's followers hear of it."""
    check_task_event(data)
    task = _live_task(data)
    board, watching = _board_and_watchers(data)
    actor = feed.name_of(board, data.get("actor_id") or data["user_id"])
    if task is not None:
        activity.record(data, actor)  # a late event of a deleted task must not re-create its history
        feed.record(data, board, task.assignee)
        store.repair_row(task.board_id, task)  # the board page shows rows only: none may stay stale
        if data["type"] == "task.created" and "restored" in (data.get("changes") or []):
            keep_again(data["task_id"])
    elif data["type"] == "task.deleted" and _not_someone_elses(data):
        activity.record(data, actor)  # shown again if the deletion is undone
        feed.record(data, board)
        expire_with_tombstone(data["task_id"])
    created = data["type"] == "task.created"
    reminders.sync_with(data["user_id"], data["task_id"], task, created=created)
    overdue.sync_with(data["user_id"], data["task_id"], task, created=created)
    if task is not None:
        followers.notify_event(data, task, board, followers.watchers(watching, task.owner))
    elif data["type"] == "task.completed":  # gone since: its creator still hears of it, as before boards
        notifications.send(
            notification_id=data["event_id"], user_id=data["user_id"], task_id=data["task_id"],
            kind="task.completed", message=f"“{data.get('title') or 'A task'}” was completed.")
    if data["type"] == "task.completed" and task is not None and task.is_completed:
        service.create_next_instance(task)  # not reopened (or deleted) before this was handled


def on_task_update(data: dict) -> None:
    """task-updates: a sent notification lands in its user's inbox."""
    _require(data, "type")
    if data["type"] == "notification.sent":
        check_notification_sent(data)
        notifications.deliver_to_inbox(data)
    else:
        log.info("ignoring task-update of type %s", data["type"])


def on_job(name: str, data: dict) -> str:
    """Dispatch a fired job by its kind; returns what happened."""
    kind = data.get("kind")
    if kind == "reminder":
        _require(data, "task_id", "user_id")
        return reminders.fire(data)
    if kind == "overdue":
        _require(data, "task_id", "user_id")
        return overdue.fire(data)
    if kind == "digest":
        _require(data, "user_id")
        return digests.fire(data)
    if kind == "horizon":
        return jobs.on_horizon(data)
    if kind == "probe":
        # Proves the scheduler → sidecar → /job/<name> path (readiness checks, tests).
        gateway().save(f"job-fired:{name}", {"name": name, "data": data}, ttl_seconds=3600)
        return "recorded"
    raise Malformed(f"unknown job kind {kind!r}")
