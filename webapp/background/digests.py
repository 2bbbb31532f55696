"""The daily digest on the Dapr Jobs API: one job per user, ``digest-<user id>``, at a local time they choose.

Each firing first schedules the next one, computed in the user's zone (so it
stays at 08:00 local across a DST change), then sends the day's digest: a send
that fails cannot end the chain. The job then fires again soon for the same day
(``retry_of``), until the send works or the next digest is near. The digest's id
is the user and the local day of the firing, so a job fired twice notifies once.
The time is kept on ``user:<id>`` as ``digest_time`` ("HH:MM", default 08:00).

    digest-next:<user id>  {"due": <ISO time>}: the next digest as last scheduled (TTL: 2 days past it). The
                           sweep re-creates a user's job when this is missing or long past (the chain ended).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app

from .. import notifications, timezones
from ..dapr_gateway import GatewayError, Item
from ..keys import digest_next_key, index_key, user_key
from ..sidecar import gateway
from ..tasks.rows import Summary

log = logging.getLogger(__name__)
PREFIX = "digest-"
DEFAULT_TIME = "08:00"
ENDED_AFTER = timedelta(hours=1)  # a next digest this far past its due never fired: longer than its job's retries
NEXT_TTL_SECONDS = 2 * 86400  # past the due time


def chain_ended(marker: Item, now: datetime) -> bool:
    """Whether a user's digest chain has ended, by their ``digest-next`` item as read: none, or long past due."""
    if not marker.exists:
        return True
    try:
        return datetime.fromisoformat(marker.value["due"]) < now - ENDED_AFTER
    except (KeyError, TypeError, ValueError):
        return True


def job_name(user_id: str) -> str:
    """``digest-<user id>``: one digest job per user."""
    return f"{PREFIX}{user_id}"


def parse_time(value: str | None) -> time:
    """``"HH:MM"`` as a time of day; the default for anything else."""
    try:
        return time.fromisoformat(value or DEFAULT_TIME).replace(second=0, microsecond=0, tzinfo=None)
    except ValueError:
        return time.fromisoformat(DEFAULT_TIME)


def next_firing(after: datetime, at: time, tz_name: str) -> datetime:
    """The first instant strictly after ``after`` when the clock in ``tz_name`` shows ``at`` (UTC).

    On the night a local time does not exist (clocks go forward) it fires at the
    same offset as the evening before, e.g. 02:30 CET = 03:30 CEST; on the night
    it exists twice, at its first occurrence.
    """
    zone = timezones.zone(tz_name)
    day = after.astimezone(zone).date() - timedelta(days=1)
    while True:
        candidate = datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc)
        if candidate > after:
            return candidate
        day += timedelta(days=1)


def _record(user_id: str) -> dict | None:
    return gateway().get(user_key(user_id)).value


def schedule(user_id: str, now: datetime | None = None, record: dict | None = None) -> datetime | None:
    """(Re)schedule the user's next digest from their zone and time (``record``: their ``user:<id>`` as just
    read; else read here); None if the account is gone."""
    record = record or _record(user_id)
    if not record:
        gateway().delete_job(job_name(user_id))
        return None
    due = next_firing(now or datetime.now(timezone.utc), parse_time(record.get("digest_time")),
                      record.get("timezone") or timezones.DEFAULT_TZ)
    _schedule_job(user_id, due, {"kind": "digest", "user_id": user_id, "at": due.isoformat()})
    return due


def _schedule_job(user_id: str, due: datetime, data: dict) -> None:
    """The user's one digest job at ``due``, and its ``digest-next`` item."""
    gateway().schedule_job(job_name(user_id), due, data)
    ttl = int((due - datetime.now(timezone.utc)).total_seconds()) + NEXT_TTL_SECONDS
    gateway().save(digest_next_key(user_id), {"due": due.isoformat()}, ttl_seconds=max(ttl, NEXT_TTL_SECONDS))


def stored_time(user_id: str) -> str:
    """The user's digest time as "HH:MM" (the default if they never chose one)."""
    return parse_time((_record(user_id) or {}).get("digest_time")).strftime("%H:%M")


def counts(user_id: str, today: date, tz_name: str, now: datetime) -> tuple[int, int]:
    """(due today, overdue) among the user's open tasks, from their index rows (one read)."""
    index = gateway().get(index_key(user_id)).value or {}
    due_today = overdue = 0
    for task_id, row in (index.get("rows") or {}).items():
        try:
            summary = Summary.from_row(task_id, row)
        except (ValueError, TypeError, IndexError):
            continue  # a tombstone's row, or one the sweep has yet to repair
        if summary.status == "completed" or summary.due_at is None:
            continue
        overdue += summary.due_at < now
        due_today += timezones.to_local(summary.due_at, tz_name).date() == today
    return due_today, overdue


def fire(data: dict) -> str:
    """A digest job fired: schedule the next, then send the digest of the firing's day if open work is due.

    A failed send makes the job fire again for the same day after the job retry interval, unless the next
    digest is due before then. Raises ``GatewayError`` only when the next digest could not be scheduled (the
    job's failure policy retries this firing) or the retry could not.
    """
    user_id = data["user_id"]
    record = _record(user_id)
    if not record:
        return "stale"  # the account is gone: no next digest either
    now = datetime.now(timezone.utc)
    tz = record.get("timezone") or timezones.DEFAULT_TZ
    fired_at = datetime.fromisoformat(data.get("retry_of") or data.get("at") or now.isoformat())
    next_due = schedule(user_id, max(now, fired_at), record)  # first: whatever happens next, the chain goes on
    today = timezones.to_local(fired_at, tz).date()
    due_today, overdue = counts(user_id, today, tz, now)
    if not (due_today or overdue):
        return "nothing due"
    try:
        notifications.send(notification_id=f"digest-{user_id}-{today.isoformat()}", user_id=user_id,
                           task_id=None, kind="digest",
                           message=f"Daily digest for {today:%A %d %B}: {due_today} due today, {overdue} overdue.")
    except GatewayError as err:
        again = now + timedelta(seconds=int(current_app.config["JOB_RETRY_INTERVAL_SECONDS"]))
        if next_due is None or again >= next_due:
            log.warning("digest of %s for %s not sent (the next is due first): %s", user_id, today, err)
            return "not sent"
        log.warning("digest of %s for %s not sent, tried again at %s: %s", user_id, today, again, err)
        _schedule_job(user_id, again, {"kind": "digest", "user_id": user_id, "at": again.isoformat(),
                                       "retry_of": fired_at.isoformat()})
        return "retry scheduled"
    return "sent"
