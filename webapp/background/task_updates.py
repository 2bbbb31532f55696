"""The ``task-updates`` stream: a notification sent by notification-service lands in its user's inbox."""

from __future__ import annotations

import logging

from .. import notifications
from .checks import require, require_time

log = logging.getLogger(__name__)


def check_notification_sent(data: dict) -> None:
    """A ``notification.sent`` event carries what the inbox shows; ``Malformed`` otherwise."""
    require(data, "notification_id", "user_id", "message")
    require_time(data, "timestamp", optional=True)


def on_task_update(data: dict) -> None:
    """task-updates: a sent notification lands in its user's inbox (``Malformed``, ``GatewayError``)."""
    require(data, "type")
    if data["type"] == "notification.sent":
        check_notification_sent(data)
        notifications.deliver_to_inbox(data)
    else:
        log.info("ignoring task-update of type %s", data["type"])
