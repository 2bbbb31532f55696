"""Delivering a notification once: its record ``notification:<id>``, claimed, delivered, then sent."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone

from flask import current_app

from .. import events, metrics
from ..dapr_gateway import Conflict, GatewayError, Item
from ..sidecar import gateway, retry_on_conflict

log = logging.getLogger(__name__)
KINDS = ("task.completed", "task.assigned", "task.reminder", "task.overdue", "digest", "info")
RECORD_TTL_SECONDS = 30 * 86400
# Far longer than one delivery can take (binding timeout 5 s, two retries) and
# than the caller waits (invocation timeout 5 s): only a dead attempt's claim is this old.
CLAIM_STALE_AFTER = timedelta(seconds=60)


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
    """The state key of a notification's record."""
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
