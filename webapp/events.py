"""The one place that builds the CloudEvents Taskboard publishes. No I/O."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

TASK_EVENT_TYPES = ("task.created", "task.updated", "task.completed", "task.reopened", "task.deleted")
SOURCE = "taskboard"


class Task(Protocol):
    """What a task event reads of a task (``tasks.model.Task``): building events needs no task code, since
    notification-service imports this module too."""
    id: str
    owner: str
    board_id: str
    title: str
    status: str
    priority: str
    due_at: datetime | None
    recurrence: str | None


def task_event(event_type: str, task: Task, now: datetime, version: str | None = None,
               changes: list[str] | None = None, actor_id: str | None = None, event_id: str | None = None) -> dict:
    """The data of a task lifecycle event (SPEC: id, task, user, title, status, priority, time, version).

    ``user_id`` is the task's owner (who created it), ``board_id`` the board it is on (subscribers load the
    task by board and route by it), ``actor_id`` who made the change (default: the owner). ``event_id``: a
    derived one (the creation of a task with a derived id), else a new one.
    """
    if event_type not in TASK_EVENT_TYPES:
        raise ValueError(f"unknown task event type {event_type!r}")
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "type": event_type,
        "task_id": task.id,
        "user_id": task.owner,
        "board_id": task.board_id or task.owner,
        "actor_id": actor_id or task.owner,
        "title": task.title,
        "status": task.status,
        "priority": task.priority,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "recurrence": task.recurrence,
        "timestamp": now.isoformat(),
        "version": version,
        "changes": changes or [],
    }


def notification_sent(notification: dict, now: datetime) -> dict:
    """The data of ``notification.sent`` (published by notification-service on task-updates)."""
    return {
        "event_id": f"sent-{notification['notification_id']}",
        "type": "notification.sent",
        "notification_id": notification["notification_id"],
        "user_id": notification["user_id"],
        "task_id": notification.get("task_id"),
        "kind": notification["kind"],
        "message": notification["message"],
        "timestamp": now.isoformat(),
    }


def publish_metadata(data: dict) -> dict[str, str]:
    """Dapr publish metadata: the user id (seed 003), board and actor ids if any, and the CloudEvent id/type/source."""
    routing = {name: str(data[name]) for name in ("board_id", "actor_id") if data.get(name)}
    return {
        "user_id": str(data["user_id"]),
        **routing,
        "cloudevent.id": data["event_id"],
        "cloudevent.type": data["type"],
        "cloudevent.source": SOURCE,
    }
