"""Delivering a notification once: a claim ``notification:<id>`` before, a done marker ``notification-done:<id>`` after.

Four sidecar calls on the normal path: create the claim (no read first: only a
``Conflict`` sends an attempt to read), call the binding, create the done marker
(``delivered``), publish ``notification.sent``. The marker is written right after
the binding accepted the delivery, before anything else can fail, and a write that
fails is tried again at once (``MARKER_ATTEMPTS``); a retry that finds it only
announces again (the inbox de-duplicates by notification id). The marker is a key
of its own because the claim's ETag is unknown after its create (Dapr's save
returns none): a write over the claim without it is refused on Redis, and a
delete-then-write would strip the first-write guard that makes the next attempt's
create a ``Conflict`` there. The claim outlives its marker (written after it, with
a shorter TTL), so a claim that can be created means "never done".

What can still deliver twice: the binding accepted the delivery and then this process died, or the store
refused every marker write, before the marker was written — and a call for the same id came after the claim
turned stale (``CLAIM_STALE_AFTER``). No write can close that gap: whether a delivery happened is known only
after the channel answers, and the one alternative, never taking a stale claim over, would lose every
notification whose attempt died before delivering. A delivery seen twice in that rare case is the lesser harm.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta, timezone

from flask import current_app

from .. import events, metrics
from ..keys import notification_done_key, notification_key
from ..dapr_gateway import Conflict, GatewayError, Item
from ..held import Held
from ..sidecar import gateway
from . import email

log = logging.getLogger(__name__)
KINDS = ("task.completed", "task.assigned", "task.reminder", "task.overdue", "comment.mention", "comment.added",
         "digest", "info", "email")
RECORD_TTL_SECONDS = 30 * 86400
CLAIM_TTL_SECONDS = RECORD_TTL_SECONDS + 86400  # outlives the done marker, written at most minutes later
# Far longer than one delivery can take (binding timeout 5 s, two retries) and
# than the caller waits (invocation timeout 5 s): only a dead attempt's claim is this old.
CLAIM_STALE_AFTER = timedelta(seconds=60)
MARKER_ATTEMPTS = (0.0, 0.2, 0.5, 1.0, 2.0)  # delays before each write of the done marker (≈ 3.7 s in all)


def delivery_name(notification: dict) -> str:
    """The delivery's file name: unique per delivery, so a second delivery shows as a second file."""
    return f"{notification['user_id']}-{notification['notification_id']}-{uuid.uuid4().hex[:12]}.json"


def deliver(notification: dict, now: datetime) -> None:
    """Hand the notification to its channel: an e-mail (``email``) or the delivery binding (a file, e-mail or
    webhook by component)."""
    cfg = current_app.config
    if notification.get("email"):
        email.send(notification["email"])
        metrics.NOTIFICATIONS_DELIVERED.labels(notification["kind"]).inc()
        return
    document = {**notification, "delivered_at": now.isoformat()}
    gateway().invoke_binding(
        cfg["NOTIFY_BINDING"], cfg["NOTIFY_BINDING_OPERATION"], document,
        metadata={"fileName": delivery_name(notification),
                  "subject": f"Taskboard: {notification['message'][:80]}"})
    metrics.NOTIFICATIONS_DELIVERED.labels(notification["kind"]).inc()


def record_status(record: Item, now: datetime) -> str:
    """Where a notification stands by one record: new, claimed, stale (a dead claim), delivered or sent."""
    if not record.exists:
        return "new"
    value = record.value
    if value.get("status") in ("delivered", "sent"):
        return value["status"]
    if value.get("sent_at"):  # a record written before claims existed
        return "sent"
    claimed_at = datetime.fromisoformat(value.get("claimed_at") or "1970-01-01T00:00:00+00:00")
    return "claimed" if now - claimed_at < CLAIM_STALE_AFTER else "stale"


def status_of(claim: Item, done: Item, now: datetime) -> str:
    """Where a notification stands by its claim and its done marker (the marker wins)."""
    return record_status(done, now) if done.exists else record_status(claim, now)


def stored(notification: dict) -> dict:
    """What the records keep of a notification: an e-mail's recipient, not its body (links in it are secrets)."""
    kept = {k: v for k, v in notification.items() if k != "email"}
    if notification.get("email"):
        kept["email_to"] = notification["email"]["to"]
    return kept


def claim_value(notification: dict, now: datetime, claim_id: str) -> dict:
    """The claim of one attempt."""
    return {**stored(notification), "status": "claimed", "claimed_at": now.isoformat(), "claim": claim_id}


def release(notification: dict, claim_id: str) -> None:
    """Give up this attempt's claim after a failed delivery, so the caller's retry delivers at once. When the
    sidecar refuses (it is what failed, as a rule), the release is held and done once it answers again: left
    to turn stale, the claim would answer every retry "in progress" for ``CLAIM_STALE_AFTER``."""
    try:
        _release([(notification["notification_id"], claim_id)])
    except GatewayError as err:
        log.warning("notification %s: claim not released yet (%s); held, and stale in %ss at the latest",
                    notification["notification_id"], err, int(CLAIM_STALE_AFTER.total_seconds()))
        _RELEASES.hold(current_app._get_current_object(), {claim_id: (notification["notification_id"], claim_id)})


def _release(claims: list[tuple[str, str]]) -> None:
    """Delete each (notification id, claim id)'s claim if that attempt still holds it; ``GatewayError``."""
    gw = gateway()
    for nid, claim_id in claims:
        record = gw.get(notification_key(nid))
        if record.exists and record.value.get("claim") == claim_id and record.value.get("status") == "claimed":
            try:
                gw.delete(notification_key(nid), etag=record.etag)
            except Conflict:  # taken over or done meanwhile: not ours to release any more
                pass


_RELEASES = Held("claim-releases-held", _release)


def mark_done(notification: dict, status: str, now: datetime, done: Item | None = None) -> None:
    """Write the done marker at ``status`` (over ``done``'s ETag, or create it); someone else's marker stays.
    Tries again after each of ``MARKER_ATTEMPTS``; the last ``GatewayError`` if every write failed."""
    value = {**stored(notification), "status": status, f"{status}_at": now.isoformat()}
    for number, delay in enumerate(MARKER_ATTEMPTS, start=1):
        time.sleep(delay)
        try:
            gateway().save_versioned(notification_done_key(notification["notification_id"]), value,
                                     done.etag if done is not None and done.exists else None,
                                     ttl_seconds=RECORD_TTL_SECONDS)
            return
        except Conflict:  # another attempt marked it first: its marker is as good as ours
            log.warning("notification %s: done marker already written by another attempt",
                        notification["notification_id"])
            return
        except GatewayError as err:
            if number == len(MARKER_ATTEMPTS):
                raise
            log.warning("notification %s: done marker not written yet (%s)", notification["notification_id"], err)


def publish_sent(notification: dict, now: datetime) -> None:
    """Publish ``notification.sent`` (its event id derives from the notification: the inbox de-duplicates).

    On failure the ``GatewayError`` is raised, so the caller retries (if the task was deleted meanwhile, its
    retry only asks to announce again what was delivered: ``announce_if_delivered``), and the announcement is
    also held by this process and published once the broker is back (sooner than the retry, as a rule).
    """
    sent = events.notification_sent(notification, now)
    try:
        _publish([sent])
    except GatewayError:
        _HELD.hold(current_app._get_current_object(), {sent["event_id"]: sent})
        raise


def _publish(announcements: list[dict]) -> None:
    for sent in announcements:
        gateway().publish(current_app.config["TASK_UPDATES_TOPIC"], sent, events.publish_metadata(sent))


_HELD = Held("announcements-held", _publish)


def as_delivered(notification: dict, record: Item) -> dict:
    """The notification as it was delivered (the record's copy): a caller's retry may name another recipient or
    text (it derives them from the task as it is now), and the announcement must match the delivery."""
    stored = record.value if isinstance(record.value, dict) else {}
    return {**notification, **{k: stored[k] for k in ("user_id", "task_id", "kind", "message") if k in stored}}


def resume(notification: dict, now: datetime, claim_id: str) -> str | None:
    """The record exists: ``duplicate`` (announcing again if only that failed), ``in_progress``, or None
    when this attempt took a dead attempt's claim over and must deliver."""
    gw = gateway()
    nid = notification["notification_id"]
    claim, done = gw.get_many([notification_key(nid), notification_done_key(nid)])
    status = status_of(claim, done, now)
    if status == "sent":
        return "duplicate"
    if status == "delivered":  # delivered: only announce again (the inbox keeps one entry per id)
        announce(as_delivered(notification, done if done.exists else claim), now)
        return "duplicate"
    if status != "stale":  # claimed by a live attempt, or released since the create: the caller retries later
        return "in_progress"
    try:
        gw.save(notification_key(nid), claim_value(notification, now, claim_id), etag=claim.etag,
                ttl_seconds=CLAIM_TTL_SECONDS)
    except Conflict:  # someone else took it over first
        return "in_progress"
    log.warning("notification %s: took over a stale claim", nid)
    return None


def announce_if_delivered(notification: dict) -> str:
    """Announce again a notification that was delivered, delivering nothing new (its task is gone: a caller
    that retries an event of a deleted task only settles what was already sent): ``duplicate`` when it was
    delivered (announced again), ``in_progress`` while an attempt holds it, ``skipped`` when never delivered."""
    now = datetime.now(timezone.utc)
    nid = notification["notification_id"]
    claim, done = gateway().get_many([notification_key(nid), notification_done_key(nid)])
    status = status_of(claim, done, now)
    if status in ("delivered", "sent"):
        announce(as_delivered(notification, done if done.exists else claim), now)
        return "duplicate"
    return "in_progress" if status == "claimed" else "skipped"


def send_once(notification: dict) -> str:
    """Deliver and announce unless already done: sent, duplicate or in_progress."""
    now = datetime.now(timezone.utc)
    claim_id = uuid.uuid4().hex
    try:
        gateway().create(notification_key(notification["notification_id"]), claim_value(notification, now, claim_id),
                         ttl_seconds=CLAIM_TTL_SECONDS)
    except Conflict:
        outcome = resume(notification, now, claim_id)
        if outcome is not None:
            return outcome
    try:
        deliver(notification, now)
    except GatewayError:
        release(notification, claim_id)
        raise
    try:
        mark_done(notification, "delivered", now)
    except GatewayError as err:  # the claim stays: a call after it turns stale delivers again (see above)
        log.error("notification %s: delivered but not marked (%s)", notification["notification_id"], err)
    announce(notification, now)  # failing: the caller's retry finds the marker and only announces
    return "sent"


def announce(notification: dict, now: datetime) -> None:
    """Tell the web app's inbox; an e-mail is the copy of something already there, or account mail: no entry."""
    if not notification.get("email"):
        publish_sent(notification, now)
