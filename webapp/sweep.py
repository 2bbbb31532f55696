"""The periodic sweep, triggered by the `cron` input binding: overdue alerts and a daily digest.

Every notification id is derived from what it is about (task + due time, user +
day in the user's zone), so running the sweep twice — or on two replicas —
notifies once. An overdue alert is also remembered per task
(``overdue-alerted:<task id>``, no TTL, deleted with the task), so it is not
sent again once the notifier's own record of it has expired.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timezone
from typing import Callable

from . import notifications, reminders, state_lists, timezones
from .dapr_gateway import Conflict, NotFound, Rejected
from .sidecar import gateway
from .tasks import model, store
from .users_index import all_user_ids

log = logging.getLogger(__name__)
PENDING = "outbox-pending-users"
# Every replica's binding fires on its own clock; a lease held for most of the period (and
# left to expire, not released) makes one run per period across all of them.
LEASES = {"sweep": 270, "relay": 8}  # name → seconds, under the cron (5 min) and relay (10 s) periods


def lease_key(name: str) -> str:
    """``lease:<name>``: held by the replica running that periodic work, until its TTL ends."""
    return f"lease:{name}"


def leased(name: str, work: Callable[[], dict[str, int]]) -> dict[str, int]:
    """Run ``work`` only if this replica wins the lease (a first-write create); else skip at once."""
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "at": datetime.now(timezone.utc).isoformat()}
    try:
        gateway().create(lease_key(name), holder, ttl_seconds=LEASES[name])
    except Conflict:
        log.info("%s skipped: another replica holds its lease", name)
        return {"leased": 0}
    return {"leased": 1, **work()}


def on_cron() -> dict[str, int]:
    """The `cron` binding: the sweep, once per period across replicas."""
    return leased("sweep", run)


def on_relay() -> dict[str, int]:
    """The `relay` binding: the outbox relay, once per period across replicas."""
    return leased("relay", relay)


def mark_pending(user_id: str) -> None:
    """Remember that a user's task has events the fast path could not publish."""
    state_lists.append(PENDING, {"id": user_id}, limit=100_000)


def relay() -> dict[str, int]:
    """Publish the outboxes of users marked pending (the frequent, cheap relay)."""
    items, _ = state_lists.read(PENDING)
    sent = 0
    for entry in items:
        sent += store.flush_user(entry["id"])
        if not any(item.value.get("outbox") for item in store.load_items(entry["id"])):
            state_lists.update(PENDING, lambda xs, uid=entry["id"]: [x for x in xs if x["id"] != uid])
    return {"users": len(items), "events": sent}


def run(now: datetime | None = None) -> dict[str, int]:
    """Flag overdue tasks and send each user with open work a digest once a day.

    One user's trouble (e.g. a notification another attempt is still delivering:
    409) does not hold up the others; ``Unavailable`` (the sidecar or a component
    is down) stops the sweep at once, and the binding's next trigger runs it again.
    """
    now = now or datetime.now(timezone.utc)
    counts = {"users": 0, "overdue": 0, "digests": 0, "relayed": 0, "skipped": 0}
    for user_id in all_user_ids():
        try:
            swept = sweep_user(user_id, now)
        except (Rejected, Conflict, NotFound) as err:
            log.warning("sweep of user %s skipped (the next sweep tries again): %s", user_id, err)
            counts["skipped"] += 1
            continue
        for name, n in swept.items():
            counts[name] += n
    log.info("sweep done: %s", counts)
    return counts


def overdue_marker_key(task_id: str) -> str:
    """``overdue-alerted:<task id>`` = {"due_at": …}: the due time already alerted (deleted with the task)."""
    return f"overdue-alerted:{task_id}"


def _not_yet_alerted(overdue: list[model.Task]) -> list[model.Task]:
    """The overdue tasks whose current due time has had no alert yet (one bulk read)."""
    markers = gateway().get_many([overdue_marker_key(t.id) for t in overdue])
    return [t for t, marker in zip(overdue, markers)
            if (marker.value or {}).get("due_at") != t.due_at.isoformat()]


def alert_overdue(user_id: str, overdue: list[model.Task], tz: str) -> int:
    """One alert per task per due time, ever: the marker outlives the notifier's 30-day record."""
    sent = 0
    for task in _not_yet_alerted(overdue):
        notifications.send(notification_id=f"overdue-{task.id}-{task.due_at:%Y%m%dT%H%M}",
                           user_id=user_id, task_id=task.id, kind="task.overdue",
                           message=f"“{task.title}” is overdue (due {reminders.local_time(task.due_at, tz)}).")
        # After the send: if this write fails, the next sweep sends the same id again, which
        # the notifier still de-duplicates (its record lives 30 days).
        gateway().save(overdue_marker_key(task.id), {"due_at": task.due_at.isoformat()})
        sent += 1
    return sent


def sweep_user(user_id: str, now: datetime) -> dict[str, int]:
    """One user's part of the sweep: relay, list rows, overdue alerts, digest (days in the user's zone)."""
    counts = {"users": 1, "overdue": 0, "digests": 0, "relayed": store.flush_user(user_id)}  # outbox backstop
    items = store.load_items(user_id)
    store.reindex(user_id, items)  # repairs list rows that missed an update
    tasks = [model.Task.from_dict(it.value) for it in items
             if not it.value.get("deleted") and it.value.get("status") != "completed"]
    overdue = [t for t in tasks if t.is_overdue(now)]
    if not overdue and not any(t.due_at for t in tasks):
        return counts  # nothing to alert or digest: the user's zone is not needed
    tz = reminders.user_zone(user_id)
    counts["overdue"] = alert_overdue(user_id, overdue, tz) if overdue else 0
    today = timezones.to_local(now, tz).date()
    due_today = [t for t in tasks if t.due_at and timezones.to_local(t.due_at, tz).date() == today]
    if overdue or due_today:
        notifications.send(notification_id=f"digest-{user_id}-{today.isoformat()}", user_id=user_id,
                           task_id=None, kind="digest",
                           message=f"Daily digest for {today:%A %d %B}: {len(due_today)} due today, "
                                   f"{len(overdue)} overdue.")
        counts["digests"] += 1
    return counts
