"""A task's comments as values: limits, mentions, pages. No I/O.

    comment:<task id>:<comment id>  {"id", "task_id", "author_id", "author", "text", "mentions": {name: id},
                                     "created_at", "edited_at", "revision"}; once deleted {"id", "deleted": true}
                                     (a day, so a late edit cannot bring it back). Edits and the deletion are
                                     guarded writes of this item alone (first-write: each carries its ETag)

The task document lists its comments' ids, newest first (``Task.comments``, at most ``MAX_PER_TASK``), so a
page of comments is one bulk read of ``PAGE_SIZE`` keys, each item at most ``TEXT_MAX`` characters of text
(≈ 40 kB in UTF-8): a page stays far under the sidecar's message limit whatever people write.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from .. import markdown

TEXT_MAX = 10_000
MAX_PER_TASK = 500
PAGE_SIZE = 20
DELETED_TTL_SECONDS = 86400


class CommentsFull(ValueError):
    """The task holds ``MAX_PER_TASK`` comments: nothing was added."""

    def __init__(self):
        super().__init__(f"This task has {MAX_PER_TASK} comments, the most it can hold.")


def valid_id(comment_id: str) -> bool:
    return bool(comment_id) and len(comment_id) <= 32 and comment_id.isalnum()


def check_text(text: str | None) -> str:
    """The comment's text without surrounding blanks; ``ValueError`` if empty or over ``TEXT_MAX`` characters."""
    text = (text or "").strip()
    if not text:
        raise ValueError("Write a comment.")
    if len(text) > TEXT_MAX:
        raise ValueError(f"A comment is at most {TEXT_MAX:,} characters ({len(text):,} here).")
    return text


@dataclass(frozen=True)
class Comment:
    id: str
    task_id: str
    author_id: str
    author: str
    text: str
    created_at: datetime
    mentions: dict[str, str] = field(default_factory=dict)  # {username as written: user id}
    edited_at: datetime | None = None
    revision: int = 1

    @property
    def version(self) -> str:
        return str(self.revision)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["edited_at"] = self.edited_at.isoformat() if self.edited_at else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Comment":
        return cls(id=data["id"], task_id=data["task_id"], author_id=data["author_id"], author=data["author"],
                   text=data["text"], created_at=datetime.fromisoformat(data["created_at"]),
                   mentions=dict(data.get("mentions") or {}),
                   edited_at=datetime.fromisoformat(data["edited_at"]) if data.get("edited_at") else None,
                   revision=int(data.get("revision") or 1))

    def html(self, link) -> str:
        """The text rendered (``link(user id)``: where a mention of that member points)."""
        by_name = {name.lower(): uid for name, uid in self.mentions.items()}
        return markdown.render(self.text, lambda name: link(by_name[name.lower()]) if name.lower() in by_name
                               else None)


def mentioned_members(text: str, members: dict) -> dict[str, str]:
    """{name as written: user id} of the board's members (its record's ``members``) that ``text`` mentions."""
    ids = {(m.get("username") or "").lower(): uid for uid, m in (members or {}).items()}
    return {name: ids[name.lower()] for name in markdown.mentioned(text) if name.lower() in ids}


def new_comment(task_id: str, author_id: str, author: str, text: str, members: dict, now: datetime) -> Comment:
    """A comment by ``author`` with the members it mentions; ``ValueError`` for bad text."""
    text = check_text(text)
    return Comment(uuid.uuid4().hex[:16], task_id, author_id, author, text, now, mentioned_members(text, members))


def edited(comment: Comment, text: str, members: dict, now: datetime) -> Comment:
    """The comment with new text (marked edited); ``ValueError`` for bad text."""
    text = check_text(text)
    return replace(comment, text=text, mentions=mentioned_members(text, members), edited_at=now,
                   revision=comment.revision + 1)


def from_item(value) -> Comment | None:
    """The comment in a stored item as read; None if missing or deleted."""
    if not isinstance(value, dict) or value.get("deleted") or "text" not in value:
        return None
    return Comment.from_dict(value)


@dataclass(frozen=True)
class Page:
    """One page of a task's comments, newest first."""

    ids: tuple[str, ...]
    number: int
    pages: int
    total: int


def page_of(comment_ids, number: int) -> Page:
    """Page ``number`` (1: the newest) of the ids a task lists (newest first)."""
    ids = tuple(comment_ids or ())
    pages = max(1, -(-len(ids) // PAGE_SIZE))
    number = min(max(1, number), pages)
    start = (number - 1) * PAGE_SIZE
    return Page(ids[start:start + PAGE_SIZE], number, pages, len(ids))
