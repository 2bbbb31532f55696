"""Comment use cases in Dapr state: each comment its own item, listed by its task's document (``model.py``).

Adding one is a note on the task (``tasks.store.note``): ONE transaction of the task document (its only
guarded write: the new id in its list, the event in its outbox) with the comment, a new key; then the
event is published (``tasks.service.announce``). An edit is one guarded write of the comment's own item; a
deletion takes the id off the document and leaves the item a short-lived tombstone, in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone

from .. import events
from ..dapr_gateway import Conflict, GatewayError, Item, NotFound, Upsert
from ..errors import Busy
from ..keys import comment_key
from ..sidecar import gateway, retry_on_conflict
from ..tasks import service as task_service
from ..tasks import store as task_store
from ..tasks.model import Task
from .model import (DELETED_TTL_SECONDS, MAX_PER_TASK, Comment, CommentsFull, edited, from_item, new_comment,
                    page_of)

log = logging.getLogger(__name__)


class StaleComment(Exception):
    """The comment changed since the version an edit was made from (409)."""

    def __init__(self, current: Comment):
        super().__init__(f"comment {current.id} is at version {current.version}")
        self.current = current


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def read_page(task: Task, number: int, read: dict[str, Item] | None = None) -> tuple[list[Comment], object]:
    """Page ``number`` of the task's comments (one bulk read, none without comments) and the page."""
    page = page_of(task.comments, number)
    keys = [comment_key(task.id, cid) for cid in page.ids]
    known = dict(read or {})
    missing = [k for k in keys if k not in known]
    if missing:
        known.update({it.key: it for it in gateway().get_many(missing)})
    comments = [from_item(known[k].value) for k in keys if k in known]
    return [c for c in comments if c is not None], page


def add(board_id: str, task_id: str, author_id: str, author: str, text: str, members: dict,
        read: dict[str, Item] | None = None) -> Comment:
    """Store a comment on the board's task and announce it (``task.commented``).

    ``ValueError`` for bad text, ``CommentsFull`` at ``MAX_PER_TASK``, ``NotFound`` if the task is gone,
    ``Busy`` if its document kept changing through every retry (nothing listed).
    """
    comment = new_comment(task_id, author_id, author, text, members, utcnow())
    key = comment_key(task_id, comment.id)

    def apply(task: Task):
        if len(task.comments) >= MAX_PER_TASK:
            raise CommentsFull()
        noted = replace(task, comments=(comment.id, *task.comments))
        mentioned = sorted(set(comment.mentions.values()) - {author_id})
        return noted, [Upsert(key, comment.to_dict())], [
            events.comment_event(noted, comment.id, mentioned, author_id, comment.created_at)]

    try:
        _, stored_events = task_store.note(board_id, task_id, apply, read=read)
    except Conflict as err:
        _forget(key)
        raise Busy(f"task {task_id} kept changing: {err}") from err
    task_service.announce(stored_events, board_id)
    return comment


def _forget(key: str) -> None:
    """Remove a comment no document lists (its attempts all lost); the purge never finds it otherwise."""
    try:
        gateway().delete(key)
    except GatewayError as err:
        log.warning("comment %s left unlisted: %s", key, err)


def load(task: Task, comment_id: str, read: dict[str, Item] | None = None) -> tuple[Comment, Item]:
    """The task's comment with its item as read; ``NotFound`` if the task does not list it or it is gone."""
    key = comment_key(task.id, comment_id)
    if comment_id not in task.comments:
        raise NotFound(key)
    item = (read or {}).get(key) or gateway().get(key)
    comment = from_item(item.value)
    if comment is None:
        raise NotFound(key)
    return comment, item


def edit(task: Task, comment_id: str, version: str, text: str, members: dict,
         read: dict[str, Item] | None = None) -> Comment:
    """New text for a comment made at ``version`` ("*": any); ``StaleComment`` if it changed since,
    ``NotFound`` if gone, ``ValueError`` for bad text. One guarded write of the comment's item."""
    first = dict(read or {})

    def attempt() -> Comment:
        comment, item = load(task, comment_id, first)
        first.clear()
        if version != "*" and comment.version != version:
            raise StaleComment(comment)
        changed = edited(comment, text, members, utcnow())
        gateway().save(item.key, changed.to_dict(), etag=item.etag)
        return changed

    return retry_on_conflict(attempt, "comment edit")


def delete(board_id: str, task_id: str, comment_id: str, version: str, read: dict[str, Item] | None = None) -> None:
    """Take a comment seen at ``version`` ("*": any) off its task (who may is checked before).

    First the comment's item becomes a tombstone (one guarded write: a comment edited meanwhile raises
    ``StaleComment``, and no late edit can bring it back), then the task's document drops its id (a note).
    Should that second write never pass (``Busy``), the document lists a tombstone, which pages skip and the
    purge deletes with the task. ``NotFound`` if the comment is gone.
    """
    key = comment_key(task_id, comment_id)
    first = dict(read or {})

    def bury() -> None:
        item = first.pop(key, None) or gateway().get(key)
        comment = from_item(item.value)
        if comment is None:
            raise NotFound(key)
        if version != "*" and comment.version != version:
            raise StaleComment(comment)
        gateway().save(key, {"id": comment_id, "deleted": True}, etag=item.etag, ttl_seconds=DELETED_TTL_SECONDS)

    retry_on_conflict(bury, "comment delete")

    def apply(task: Task):
        kept = tuple(cid for cid in task.comments if cid != comment_id)
        return replace(task, comments=kept), [], []

    try:
        task_store.note(board_id, task_id, apply, read=read)
    except Conflict as err:
        raise Busy(f"task {task_id} kept changing: {err}") from err
