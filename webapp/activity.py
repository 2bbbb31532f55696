"""Each task's history, built from its task-events (consumed in background/task_events.py)."""

from __future__ import annotations

from datetime import datetime

from . import state_lists
from .keys import history_key

HISTORY_LIMIT = 100
LABELS = {
    "task.created": "Created",
    "task.updated": "Edited",
    "task.completed": "Completed",
    "task.reopened": "Reopened",
    "task.deleted": "Deleted",
}


def entry_of(event: dict, actor: str = "") -> dict:
    """A task event's history entry, naming who made it (``actor``: username)."""
    return {
        "id": event["event_id"],
        "type": event["type"],
        "user_id": event["user_id"],
        "actor_id": event.get("actor_id") or event["user_id"],
        "actor": actor,
        "at": event["timestamp"],
        "changes": event.get("changes") or [],
    }


def with_entry(history: dict | None, event: dict, actor: str = "") -> dict | None:
    """The history (as read) with the event's entry added, or None if it is there already."""
    return state_lists.appended(history, entry_of(event, actor), HISTORY_LIMIT)


def history(user_id: str, task_id: str) -> list[dict]:
    """The task's history, newest first, only the owner's entries."""
    items, _ = state_lists.read(history_key(task_id))
    return history_of(user_id, items)


def history_of(user_id: str, items: list[dict]) -> list[dict]:
    """``history`` from the history's entries as read (a page reading it with other items in one call)."""
    entries = [
        {**i, "label": LABELS.get(i["type"], i["type"]), "at": datetime.fromisoformat(i["at"])}
        for i in items if i.get("user_id") == user_id
    ]
    # Events may be delivered out of order (concurrent delivery, redelivery): order by when they happened.
    return sorted(entries, key=lambda e: e["at"], reverse=True)
