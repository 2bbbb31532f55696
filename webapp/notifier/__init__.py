"""notification-service: its own app factory, run as its own process beside its own sidecar.

``POST /notify`` (called through Dapr service invocation) delivers each
notification id once, then publishes ``notification.sent`` on ``task-updates``
for the web app's inbox. The record ``notification:<id>`` makes it once:

    claimed    written only if absent (first write wins) before delivering, so a
               concurrent call for the same id answers 409 "in progress" (its
               caller retries later) instead of delivering again;
    delivered  the binding call succeeded: a retry only announces it again;
    sent       announced too: a retry answers "duplicate".

A delivery that fails gives its claim up, so the caller's retry delivers. A
claim older than ``CLAIM_STALE_AFTER`` belongs to an attempt that died
mid-delivery; the next call takes it over (ETag-guarded) and delivers. The
sidecar does not retry the binding call itself: a channel that times out after
accepting (a slow webhook, an SMTP server) would deliver twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Flask, current_app, jsonify, request

from .. import base_app, events, metrics
from ..dapr_gateway import Conflict, GatewayError, Item
from ..security import app_token_rejection
from ..sidecar import gateway, retry_on_conflict

log = logging.getLogger(__name__)
bp = Blueprint("notifier", __name__)
KINDS = ("task.completed", "task.reminder", "task.overdue", "digest", "info")
RECORD_TTL_SECONDS = 30 * 86400
# Far longer than one delivery can take (binding timeout 5 s, two retries) and
# than the caller waits (invocation timeout 5 s): only a dead attempt's claim is this old.
CLAIM_STALE_AFTER = timedelta(seconds=60)
IN_PROGRESS_RETRY_AFTER = "5"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the notification-service app."""
    app = base_app(__name__, {"APP_ID": "notification-service",
                              "REQUIRED_COMPONENTS": "statestore,pubsub,notify-delivery", **(test_config or {})})
    app.register_blueprint(bp)
    return app


def delivery_name(notification: dict) -> str:
    """The delivery's file name: unique per delivery, so a second delivery shows as a second file."""
    return f"{notification['user_id']}-{notification['notification_id']}-{uuid.uuid4().hex[:12]}.json"


def deliver(notification: dict, now: datetime) -> None:
    """Hand the notification to the delivery binding (a file, e-mail or webhook by component)."""
    cfg = current_app.config
    document = {**notification, "delivered_at": now.isoformat()}
    gateway().invoke_binding(
        cfg["NOTIFY_BINDING"], cfg["NOTIFY_BINDING_OPERATION"], document,
        metadata={"fileName": delivery_name(notification),
                  "subject": f"Taskboard: {notification['message'][:80]}"})
    metrics.NOTIFICATIONS_DELIVERED.labels(notification["kind"]).inc()


def record_key(notification_id: str) -> str:
    return f"notification:{notification_id}"


def record_status(record: Item, now: datetime) -> str:
    """Where a notification stands: new, claimed, stale (a dead claim), delivered or sent."""
    if not record.exists:
        return "new"
    value = record.value
    if value.get("status") in ("delivered", "sent"):
        return value["status"]
    if value.get("sent_at"):  # a record written before claims existed
        return "sent"
    claimed_at = datetime.fromisoformat(value.get("claimed_at") or "1970-01-01T00:00:00+00:00")
    return "claimed" if now - claimed_at < CLAIM_STALE_AFTER else "stale"


def claim(notification: dict, record: Item, now: datetime) -> str | None:
    """Take the notification for this attempt: the claim's id, or None if another attempt holds it."""
    gw = gateway()
    key = record_key(notification["notification_id"])
    claim_id = uuid.uuid4().hex
    value = {**notification, "status": "claimed", "claimed_at": now.isoformat(), "claim": claim_id}
    try:
        if record.exists:  # a dead attempt's claim: take it over unless someone else just did
            gw.save(key, value, etag=record.etag, ttl_seconds=RECORD_TTL_SECONDS)
            log.warning("notification %s: taking over a stale claim", notification["notification_id"])
        else:
            gw.create(key, value, ttl_seconds=RECORD_TTL_SECONDS)
    except Conflict:
        return None
    return claim_id


def release(notification: dict, claim_id: str) -> None:
    """Give up this attempt's claim after a failed delivery, so the caller's retry delivers at once."""
    gw = gateway()
    key = record_key(notification["notification_id"])
    try:
        record = gw.get(key)
        if record.exists and record.value.get("claim") == claim_id and record.value.get("status") == "claimed":
            gw.delete(key, etag=record.etag)
    except GatewayError as err:  # the claim turns stale by itself
        log.warning("notification %s: claim not released (%s); it expires in %ss", notification["notification_id"],
                    err, int(CLAIM_STALE_AFTER.total_seconds()))


def mark(notification: dict, status: str, now: datetime) -> None:
    """Move the record to ``status`` (ETag-guarded, so the record keeps first-write semantics)."""
    gw = gateway()
    key = record_key(notification["notification_id"])

    def attempt() -> None:
        record = gw.get(key)
        value = {**(record.value or notification), "status": status, f"{status}_at": now.isoformat()}
        if record.exists:
            gw.save(key, value, etag=record.etag, ttl_seconds=RECORD_TTL_SECONDS)
        else:  # expired meanwhile
            gw.create(key, value, ttl_seconds=RECORD_TTL_SECONDS)

    retry_on_conflict(attempt, "notification record")


def announce(notification: dict, now: datetime) -> None:
    """Publish ``notification.sent`` (its event id derives from the notification: the inbox de-duplicates)."""
    sent = events.notification_sent(notification, now)
    gateway().publish(current_app.config["TASK_UPDATES_TOPIC"], sent, events.publish_metadata(sent))
    mark(notification, "sent", now)


def send_once(notification: dict) -> str:
    """Deliver and announce unless already done: sent, duplicate or in_progress."""
    now = datetime.now(timezone.utc)
    record = gateway().get(record_key(notification["notification_id"]))
    status = record_status(record, now)
    if status == "sent":
        return "duplicate"
    if status == "delivered":  # delivered, but the announcement failed: only announce
        announce(notification, now)
        return "duplicate"
    claim_id = claim(notification, record, now) if status != "claimed" else None
    if claim_id is None:
        return "in_progress"
    try:
        deliver(notification, now)
    except GatewayError:
        release(notification, claim_id)
        raise
    mark(notification, "delivered", now)
    announce(notification, now)
    return "sent"


@bp.before_request
def require_app_token():
    return app_token_rejection()


def _invalid(message: str):
    return jsonify(error="invalid", message=message), 422


@bp.post("/notify")
def notify():
    """Deliver and announce one notification; a repeated id has no second delivery."""
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
    notification_id = notification["notification_id"]
    try:
        outcome = send_once(notification)
    except GatewayError as err:
        log.error("notification %s not sent: %s", notification_id, err)
        return jsonify(error="unavailable", message="notification not sent; try again"), 503
    if outcome == "in_progress":
        # Another attempt is delivering it now: the caller tries again later and then
        # gets "duplicate" (or, if that attempt died, delivers it itself).
        return (jsonify(status="in_progress", notification_id=notification_id), 409,
                {"Retry-After": IN_PROGRESS_RETRY_AFTER})
    if outcome == "sent":
        log.info("notification %s sent to user %s", notification_id, notification["user_id"])
    return jsonify(status=outcome, notification_id=notification_id)
