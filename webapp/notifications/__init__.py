"""The user's inbox: fed by notification.sent events, shown at /notifications."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from .. import state_lists
from ..sidecar import gateway

bp = Blueprint("notifications", __name__)


def inbox_key(user_id: str) -> str:
    return f"inbox:{user_id}"


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
    return state_lists.append(inbox_key(event["user_id"]), entry, int(current_app.config["INBOX_LIMIT"]))


def unread_count(user_id: str) -> int:
    items, _ = state_lists.read(inbox_key(user_id))
    return sum(1 for i in items if not i.get("read"))


def _mark_all_read(items: list[dict]) -> list[dict] | None:
    if all(i.get("read") for i in items):
        return None
    return [{**i, "read": True} for i in items]


@bp.get("/notifications")
@login_required
def inbox():
    """The inbox, newest first; opening it marks everything read."""
    items, _ = state_lists.read(inbox_key(current_user.id))
    for item in items:
        item["at"] = datetime.fromisoformat(item["at"]) if item.get("at") else None
    if any(not i.get("read") for i in items):
        state_lists.update(inbox_key(current_user.id), _mark_all_read)
    return render_template("notifications/inbox.html", items=items)
