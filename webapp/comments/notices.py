"""Who hears of a comment: the members it mentions, and the task's followers who did not write it."""

from __future__ import annotations

from ..boards import followers
from ..notifications import send


def notify_comment(data: dict, task, board: dict, watching: set[str]) -> list[str]:
    """The notifications of one ``task.commented`` event (``board``: its record as the handler read it);
    returns their ids. Only members of the board now hear of it, never its author; a mentioned follower
    gets the mention alone. Each id derives from the event's, so a redelivery notifies no one twice."""
    members = board.get("members") or {}
    actor, title = data.get("actor_id"), data.get("title") or task.title
    by = (members.get(actor) or {}).get("username") or "Someone"
    mentioned = {uid for uid in data.get("mentions") or [] if uid in members and uid != actor}
    sent = []
    for user_id in sorted(mentioned):
        sent.append(_send(f"{data['event_id']}-mention-{user_id}", user_id, task.id, "comment.mention",
                          f"{by} mentioned you on “{title}”."))
    for user_id in sorted(followers.followers(task, board, watching) - mentioned - {actor}):
        sent.append(_send(f"{data['event_id']}-{user_id}", user_id, task.id, "comment.added",
                          f"{by} commented on “{title}”."))
    return sent


def _send(notification_id: str, user_id: str, task_id: str, kind: str, message: str) -> str:
    send(notification_id=notification_id, user_id=user_id, task_id=task_id, kind=kind, message=message)
    return notification_id
