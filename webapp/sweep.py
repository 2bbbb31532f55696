"""The periodic sweep, triggered by the `cron` input binding: overdue alerts and a daily digest.

Every notification id is derived from what it is about (task + due time, user +
day), so running the sweep twice — or on two replicas — notifies once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from . import notifications, state_lists, timezones
from .tasks import model, store

log = logging.getLogger(__name__)
USERS_INDEX = "users-index"
PENDING = "outbox-pending-users"


def all_user_ids() -> list[str]:
    items, _ = state_lists.read(USERS_INDEX)
    return [i["id"] for i in items]


def remember_user(user_id: str) -> None:
    """Add a user to the index the sweep and the reminder reconciliation walk."""
    state_lists.append(USERS_INDEX, {"id": user_id}, limit=1_000_000)


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
    """Flag overdue tasks and send each user with open work a digest once a day."""
    now = now or datetime.now(timezone.utc)
    counts = {"users": 0, "overdue": 0, "digests": 0, "relayed": 0}
    for user_id in all_user_ids():
        for name, n in sweep_user(user_id, now).items():
            counts[name] += n
    log.info("sweep done: %s", counts)
    return counts


def sweep_user(user_id: str, now: datetime) -> dict[str, int]:
    """One user's part of the sweep: relay, list rows, overdue alerts, digest."""
    counts = {"users": 1, "overdue": 0, "digests": 0, "relayed": store.flush_user(user_id)}  # outbox backstop
    items = store.load_items(user_id)
    store.reindex(user_id, items)  # repairs list rows that missed an update
    tasks = [model.Task.from_dict(it.value) for it in items
             if not it.value.get("deleted") and it.value.get("status") != "completed"]
    overdue = [t for t in tasks if t.is_overdue(now)]
    for task in overdue:
        notifications.send(notification_id=f"overdue-{task.id}-{task.due_at:%Y%m%dT%H%M}",
                           user_id=user_id, task_id=task.id, kind="task.overdue",
                           message=f"“{task.title}” is overdue.")
        counts["overdue"] += 1
    due_today = [t for t in tasks if t.due_at and
                 timezones.to_local(t.due_at, t.timezone).date() == timezones.to_local(now, t.timezone).date()]
    if overdue or due_today:
        day = timezones.to_local(now, tasks[0].timezone).date().isoformat()
        notifications.send(notification_id=f"digest-{user_id}-{day}", user_id=user_id, task_id=None,
                           kind="digest",
                           message=f"Daily digest: {len(due_today)} due today, {len(overdue)} overdue.")
        counts["digests"] += 1
    return counts
