"""What the web app does with the events it receives.

Each handler is idempotent on its own (set semantics on event ids), and
``once`` also remembers processed CloudEvent ids for a day, so a redelivered
event has exactly one effect.
"""

from __future__ import annotations

import logging

from flask import current_app

from . import activity, notifications, reminders
from .dapr_gateway import NotFound
from .tasks import service, store
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
    missing = [n for n in names if not data.get(n)]
    if missing:
        raise Malformed(f"missing {', '.join(missing)}")


def on_task_event(data: dict) -> None:
    """task-events: record the history; a completion asks notification-service to notify."""
    _require(data, "event_id", "type", "task_id", "user_id")
    if data["type"] not in TASK_EVENT_TYPES:
        raise Malformed(f"unknown type {data['type']!r}")
    activity.record(data)
    reminders.sync(data["user_id"], data["task_id"], created=data["type"] == "task.created")
    if data["type"] == "task.completed":
        notifications.send(
            notification_id=data["event_id"], user_id=data["user_id"], task_id=data["task_id"],
            kind="task.completed", message=f"“{data.get('title', 'A task')}” was completed.")
        try:
            done = store.load(data["user_id"], data["task_id"])
        except NotFound:
            return  # deleted since: no next occurrence
        service.create_next_instance(done)


def on_task_update(data: dict) -> None:
    """task-updates: a sent notification lands in its user's inbox."""
    _require(data, "type")
    if data["type"] == "notification.sent":
        _require(data, "notification_id", "user_id", "message")
        notifications.deliver_to_inbox(data)
    else:
        log.info("ignoring task-update of type %s", data["type"])


def on_job(name: str, data: dict) -> str:
    """Dispatch a fired job by its kind; returns what happened."""
    kind = data.get("kind")
    if kind == "reminder":
        _require(data, "task_id", "user_id")
        return reminders.fire(data)
    if kind == "probe":
        # Proves the scheduler → sidecar → /job/<name> path (readiness checks, tests).
        gateway().save(f"job-fired:{name}", {"name": name, "data": data}, ttl_seconds=3600)
        return "recorded"
    raise Malformed(f"unknown job kind {kind!r}")
