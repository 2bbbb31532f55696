"""Each task's history, built from its task-events (consumed in consumers.py)."""

from __future__ import annotations

from datetime import datetime

from . import state_lists

HISTORY_LIMIT = 100
LABELS = {
    "task.created": "Created",
    "task.updated": "Edited",
    "task.completed": "Completed",
    "task.reopened": "Reopened",
    "task.deleted": "Deleted",
}


def history_key(task_id: str) -> str:
    return f"activity:{task_id}"


def record(event: dict, actor: str = "") -> bool:
    """Add a task event to its task's history (once per event id), naming who made it (``actor``: username)."""
    entry = {
        "id": event["event_id"],
        "type": event["type"],
        "user_id": event["user_id"],
        "actor_id": event.get("actor_id") or event["user_id"],
        "actor": actor,
        "at": event["timestamp"],
        "changes": event.get("changes") or [],
    }
    return state_lists.append(history_key(event["task_id"]), entry, HISTORY_LIMIT)


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
