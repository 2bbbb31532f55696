"""notification-service: its own app factory, run as its own process beside its own sidecar.

``POST /notify`` (called through Dapr service invocation) records the
notification once per id, delivers it, and publishes ``notification.sent`` on
``task-updates`` for the web app's inbox.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import Blueprint, Flask, current_app, jsonify, request

from .. import base_app, events, metrics
from ..dapr_gateway import GatewayError
from ..security import app_token_rejection
from ..sidecar import gateway

log = logging.getLogger(__name__)
bp = Blueprint("notifier", __name__)
KINDS = ("task.completed", "task.reminder", "task.overdue", "digest", "info")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the notification-service app."""
    app = base_app(__name__, {"APP_ID": "notification-service",
                              "REQUIRED_COMPONENTS": "statestore,pubsub,notify-delivery", **(test_config or {})})
    app.register_blueprint(bp)
    return app


def deliver(notification: dict, now: datetime) -> None:
    """Hand the notification to the delivery binding (a file, e-mail or webhook by component).

    The file name / subject is derived from the notification id, so a retried
    delivery overwrites rather than duplicates.
    """
    cfg = current_app.config
    document = {**notification, "delivered_at": now.isoformat()}
    gateway().invoke_binding(
        cfg["NOTIFY_BINDING"], cfg["NOTIFY_BINDING_OPERATION"], document,
        metadata={"fileName": f"{notification['user_id']}-{notification['notification_id']}.json",
                  "subject": f"Taskboard: {notification['message'][:80]}"})
    metrics.NOTIFICATIONS_DELIVERED.labels(notification["kind"]).inc()


def record_key(notification_id: str) -> str:
    return f"notification:{notification_id}"


@bp.before_request
def require_app_token():
    return app_token_rejection()


def _invalid(message: str):
    return jsonify(error="invalid", message=message), 422


@bp.post("/notify")
def notify():
    """Record, deliver and announce one notification; a repeated id has no second effect."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _invalid("expected a JSON object")
    missing = [k for k in ("notification_id", "user_id", "kind", "message") if not body.get(k)]
    if missing:
        return _invalid(f"missing {', '.join(missing)}")
    if body["kind"] not in KINDS:
        return _invalid(f"unknown kind {body['kind']!r}")
    notification = {k: str(body[k])[:1000] if body.get(k) is not None else None
                    for k in ("notification_id", "user_id", "task_id", "kind", "message")}
    gw = gateway()
    try:
        existing = gw.get(record_key(notification["notification_id"]))
        if existing.exists and existing.value.get("sent_at"):
            return jsonify(status="duplicate", notification_id=notification["notification_id"])
        now = datetime.now(timezone.utc)
        deliver(notification, now)
        sent = events.notification_sent(notification, now)
        gw.publish(current_app.config["TASK_UPDATES_TOPIC"], sent, events.publish_metadata(sent))
        gw.save(record_key(notification["notification_id"]), {**notification, "sent_at": now.isoformat()},
                ttl_seconds=30 * 86400)
    except GatewayError as err:
        log.error("notification %s not sent: %s", notification["notification_id"], err)
        return jsonify(error="unavailable", message=str(err)), 503
    log.info("notification %s sent to user %s", notification["notification_id"], notification["user_id"])
    return jsonify(status="sent", notification_id=notification["notification_id"])
