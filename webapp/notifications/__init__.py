"""Notifications: asking notification-service to deliver one, and the user's inbox it feeds (pages: ``routes``)."""

from __future__ import annotations

from flask import current_app, has_request_context, request

from ..dapr_gateway import Conflict, Item
from ..keys import inbox_key
from ..sidecar import gateway
from . import inbox


def send(notification_id: str, user_id: str, task_id: str | None, kind: str, message: str,
         announce_only: bool = False) -> dict:
    """Ask notification-service (Dapr service invocation) to deliver a notification.

    Idempotent on ``notification_id``: the service records each id once. ``announce_only``: deliver nothing
    new, only announce again one it already delivered (its task is gone since).
    """
    payload = {"notification_id": notification_id, "user_id": user_id, "task_id": task_id, "kind": kind,
               "message": message}
    return notify({**payload, "announce_only": True} if announce_only else payload)


def notify(payload: dict) -> dict:
    """Invoke notification-service's ``notify`` with ``payload``; its reply. ``Conflict`` while another attempt
    is delivering the same id (a 202 "in_progress": a 2xx, so these expected answers never trip the
    resiliency policy's circuit breaker for every other notification); other ``GatewayError``s as they come."""
    cfg = current_app.config
    reply = gateway().invoke(cfg["NOTIFY_APP_ID"], cfg["NOTIFY_METHOD"], payload)
    if (reply or {}).get("status") == "in_progress":
        raise Conflict(f"notification {payload.get('notification_id')}: another attempt is delivering it")
    return reply


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


# Where a page leaves the badge's count for this request: the WSGI environ is the request's own
# (``g`` belongs to the app context, which a test or a command may keep around several requests).
_BADGE = "taskboard.inbox_unread"


def unread_count(user_id: str) -> int:
    """Unread notifications of ``user_id`` (the navigation badge): one read, unless this request's page
    already read the inbox head with its own data (``badge_from``)."""
    read = request.environ.get(_BADGE) if has_request_context() else None
    if read is not None and read[0] == user_id:
        return read[1]
    return inbox.unread_count(user_id)


def badge_from(user_id: str, head: Item) -> None:
    """Let this request's badge count ``user_id``'s unread notifications from ``head`` (``inbox:<user>``
    as the page read it in its own bulk get) instead of reading it again."""
    if head.key != inbox_key(user_id):
        raise ValueError(f"{head.key} is not the inbox head of {user_id}")
    request.environ[_BADGE] = (user_id, inbox.unread_in(head.value))
