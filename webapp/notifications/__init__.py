"""Notifications: asking notification-service to deliver one, and the user's inbox it feeds (pages: ``routes``)."""

from __future__ import annotations

from flask import current_app

from ..sidecar import gateway
from . import inbox


def send(notification_id: str, user_id: str, task_id: str | None, kind: str, message: str) -> dict:
    """Ask notification-service (Dapr service invocation) to deliver a notification.

    Idempotent on ``notification_id``: the service records each id once.
    """
    cfg = current_app.config
    return gateway().invoke(cfg["NOTIFY_APP_ID"], cfg["NOTIFY_METHOD"], {
        "notification_id": notification_id, "user_id": user_id, "task_id": task_id,
        "kind": kind, "message": message,
    })


def deliver_to_inbox(event: dict) -> bool:
    """Put a sent notification in its user's inbox (once per notification id)."""
    entry = {
        "id": event["notification_id"],
        "task_id": event.get("task_id"),
        "kind": event.get("kind", "info"),
        "message": event["message"],
        "at": event.get("timestamp"),
        "read": False,
    }
    return inbox.append(event["user_id"], entry)


def unread_count(user_id: str) -> int:
    """Unread notifications of ``user_id`` (the navigation badge)."""
    return inbox.unread_count(user_id)
