"""A board's recent activity and change counter, in one small state item fed by the task events.

    board-feed:<board id>  {"seq": <changes so far>, "items": [newest first, at most FEED_LIMIT entries]}

Each entry names who did what ({"seq", "id" (the event's), "task_id", "actor_id", "actor", "what", "at"}).
The board page shows the entries (its recent activity) and the pages of the board and its tasks poll
``seq`` (``GET /boards/<id>/changes``, answered 304 while it is the same): that is how an open page learns
within a few seconds that someone else changed the board, without holding a worker per open tab.
"""

from __future__ import annotations

from ..dapr_gateway import Item
from ..tasks.fields import BY_NAME

FEED_LIMIT = 20
_STATUS = dict(BY_NAME["status"].choices)


def seq_of(item: Item | None) -> int:
    """The board's change counter from its feed as read (0: no change yet)."""
    return int(((item.value if item is not None else None) or {}).get("seq") or 0)


def name_of(board: dict, user_id: str | None) -> str:
    """A member's username from the board record (someone no longer on it: "Someone")."""
    return (board.get("members") or {}).get(user_id or "", {}).get("username") or "Someone"


def describe(data: dict, board: dict, assignee: str | None = None) -> str:
    """What a task event did, as a phrase after its actor's name: "moved “Plan” to Completed"."""
    title, changes = f"“{data.get('title') or 'a task'}”", data.get("changes") or []
    kind = data["type"]
    if kind == "task.created":
        return f"restored {title}" if "restored" in changes else f"created {title}"
    if kind in ("task.completed", "task.reopened", "task.deleted"):
        return f"{kind.split('.')[1]} {title}"
    if changes == ["status"]:
        return f"moved {title} to {_STATUS.get(data.get('status'), data.get('status'))}"
    if changes == ["assignee"]:
        return f"assigned {title} to {name_of(board, assignee)}" if assignee else f"unassigned {title}"
    shown = ", ".join(c.removesuffix("_at").replace("_", " ") for c in changes)
    return f"edited {title}" + (f" ({shown})" if shown else "")


def with_entry(value: dict | None, data: dict, board: dict, assignee: str | None = None) -> dict | None:
    """The feed (as read) with the event counted and its entry added, or None if it is there already."""
    entry = {"id": data["event_id"], "task_id": data["task_id"], "actor_id": data.get("actor_id"),
             "actor": name_of(board, data.get("actor_id")), "what": describe(data, board, assignee),
             "at": data["timestamp"]}
    items = (value or {}).get("items") or []
    if any(i.get("id") == entry["id"] for i in items):
        return None
    seq = int((value or {}).get("seq") or 0) + 1
    return {"seq": seq, "items": [{**entry, "seq": seq}, *items][:FEED_LIMIT]}


def entries(item: Item | None) -> list[dict]:
    """The feed's entries as read, newest first."""
    return list(((item.value if item is not None else None) or {}).get("items") or [])
