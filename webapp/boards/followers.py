"""Who follows a task (its assignee and watchers) and the notifications a task event sends them.

    watchers:<task id>   {"users": [<user id>, ...]}: who watches the task. Absent: its creator alone
                         (a task's creator watches it until they stop).

A notification goes only to members of the task's board (someone removed from it hears nothing more) and
never to the person who made the change, with one exception kept from the single-user app: on a personal
board (one member) its owner still hears of their own completions.
"""

from __future__ import annotations

from ..dapr_gateway import Item, NotFound
from ..keys import board_key, watchers_key
from ..sidecar import gateway, retry_on_conflict
from ..notifications import send
from .store import load_board


def watchers(item: Item | None, owner: str) -> set[str]:
    """The task's watchers from its ``watchers`` record as read (absent: its creator)."""
    if item is None or not item.exists:
        return {owner}
    return set((item.value or {}).get("users") or [])


def set_watching(task_id: str, owner: str, user_id: str, on: bool) -> bool:
    """Start (``on``) or stop watching; True if that changed anything."""
    def attempt() -> bool:
        item = gateway().get(watchers_key(task_id))
        users = watchers(item, owner)
        if (user_id in users) == on:
            return False
        users = users | {user_id} if on else users - {user_id}
        gateway().save_versioned(watchers_key(task_id), {"users": sorted(users)}, item.etag)
        return True

    return retry_on_conflict(attempt, "watchers")


def followers(task, board: dict, watching: set[str]) -> set[str]:
    """Members of the board who follow the task: its watchers and its assignee."""
    members = (board.get("members") or {})
    wanted = set(watching) | ({task.assignee} if getattr(task, "assignee", None) else set())
    return {uid for uid in wanted if uid in members}


def recipients(task, board: dict, watching: set[str], actor: str | None) -> set[str]:
    """Who hears of a change: the followers, less the one who made it (personal board: its owner always)."""
    if board.get("personal"):
        return followers(task, board, watching)
    return followers(task, board, watching) - {actor}


def notify_event(data: dict, task, board: dict, watching: set[str], announce_only: bool = False) -> list[str]:
    """The notifications of one task event (``task``: as it is now, None if gone); returns their ids.
    ``announce_only`` (``task``: its tombstone): none is delivered anew, those already delivered are announced
    again — an attempt whose announcement was lost (broker down, then its notifier gone) is settled."""
    if task is None:
        return []
    actor, title = data.get("actor_id"), data.get("title") or task.title
    by = (board.get("members") or {}).get(actor, {}).get("username") or "Someone"
    sent = []
    assigned = "assignee" in (data.get("changes") or []) or data["type"] == "task.created"
    if assigned and task.assignee and task.assignee != actor and task.assignee in (board.get("members") or {}):
        sent.append(_send(f"{data['event_id']}-assigned", task.assignee, task.id, "task.assigned",
                          f"{by} assigned “{title}” to you.", announce_only))
    if data["type"] == "task.completed":
        for user_id in sorted(recipients(task, board, watching, actor)):
            # The owner's id stays the event's: a redelivery is still recognised.
            nid = data["event_id"] if user_id == data["user_id"] else f"{data['event_id']}-{user_id}"
            who = "" if user_id == actor else f" by {by}"
            sent.append(_send(nid, user_id, task.id, "task.completed", f"“{title}” was completed{who}.",
                              announce_only))
    return sent


def _send(notification_id: str, user_id: str, task_id: str, kind: str, message: str,
          announce_only: bool = False) -> str:
    send(notification_id=notification_id, user_id=user_id, task_id=task_id, kind=kind, message=message,
         announce_only=announce_only)
    return notification_id


def alerted(task, board: dict, watching: set[str]) -> set[str]:
    """Who hears of the task coming due or overdue: its followers on the board; on a personal board its owner
    always (the only member). No one who is not on the board (a board being deleted has no one)."""
    members = board.get("members") or {}
    owner = {task.owner} if board.get("personal") and task.owner in members else set()
    return followers(task, board, watching) | owner


def notify_followers(task, notification_id: str, kind: str, message: str) -> list[str]:
    """A notification about the task (due soon, overdue) to each of ``alerted``, once each (one read).

    The creator keeps the notification id of the task's own alerts, so a reminder fired twice is still
    delivered once; every other recipient gets that id with theirs appended.
    """
    board_item, watching = gateway().get_many([board_key(task.board_id), watchers_key(task.id)])
    try:
        board = load_board(task.board_id, board_item).value
    except NotFound:
        board = {}
    sent = []
    for user_id in sorted(alerted(task, board, watchers(watching, task.owner))):
        nid = notification_id if user_id == task.owner else f"{notification_id}-{user_id}"
        sent.append(_send(nid, user_id, task.id, kind, message))
    return sent
