"""A user's notification history, bounded, in two state items.

``inbox:<user>`` (the head) holds the newest entries (at most ``INBOX_LIMIT``)
with two counters about the archive; ``inbox-archive:<user>`` holds the older
ones, up to ``HISTORY`` in all. Every page reads the head for the unread badge,
so the head stays as small as the inbox was before the archive existed; the
archive is read only for the pages past the head and when marking it read.
When the head overflows, its oldest ``SPILL`` entries move to the archive in
one transaction that is ETag-guarded on both items, so concurrent writers
never lose an entry or count one twice. Every change is a read-modify-write
through ``retry_on_conflict``.

``append`` is idempotent on the entry's id by itself (a redelivered
``notification.sent`` has no second effect without any other record of
processed events): the id is de-duplicated against the head, which keeps an
entry until at least ``max(INBOX_LIMIT - SPILL, INBOX_LIMIT // 2)`` newer
ones arrived (150 by default), long after any redelivery. Its normal path is one read (the head) and one write
(the head, ETag-guarded or created if absent); a duplicate is the read alone;
once per ``SPILL`` appends the head overflows and the archive is read and
both are written in one transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import current_app

from ..dapr_gateway import Upsert
from ..keys import inbox_archive_key, inbox_key
from ..sidecar import gateway, retry_on_conflict

HISTORY = 1000  # entries kept per user: the newest; older ones are dropped
PAGE_SIZE = 50
SPILL = 50  # entries moved to the archive at once, so most appends write the head only


@dataclass(frozen=True)
class Page:
    """One page of the inbox, newest first, with what the page header and pager need."""

    items: list[dict]
    number: int
    pages: int
    total: int
    unread: int
    newest_id: str | None


def _head_limit() -> int:
    return max(2, int(current_app.config["INBOX_LIMIT"]))


def _read(key: str) -> tuple[dict, str | None]:
    item = gateway().get(key)
    return dict(item.value or {}), item.etag


def _unread(items: list[dict]) -> int:
    return sum(1 for i in items if not i.get("read"))


def _head_value(items: list[dict], archive: list[dict]) -> dict:
    return {"items": items, "archive_count": len(archive), "archive_unread": _unread(archive)}


def unread_count(user_id: str) -> int:
    """Unread entries in the whole history, from the head alone (one small read)."""
    return unread_in(_read(inbox_key(user_id))[0])


def unread_in(head: dict | None) -> int:
    """Unread entries in the whole history, from the head's value as read (a page that reads it with its own data)."""
    head = head or {}
    return _unread(head.get("items", [])) + int(head.get("archive_unread", 0))


def append(user_id: str, entry: dict) -> bool:
    """Add ``entry`` as the newest unless its ``id`` is in the head; False if it was."""
    def attempt() -> bool:
        head, etag = _read(inbox_key(user_id))
        items = head.get("items", [])
        if any(i["id"] == entry["id"] for i in items):
            return False
        items = [entry, *items]
        if len(items) <= _head_limit():
            gateway().save_versioned(inbox_key(user_id), {**head, "items": items}, etag)
            return True
        keep = max(_head_limit() - SPILL, _head_limit() // 2)
        archive, archive_etag = _read(inbox_archive_key(user_id))
        moved = [*items[keep:], *archive.get("items", [])][:HISTORY - _head_limit()]
        gateway().transact([
            Upsert(inbox_key(user_id), _head_value(items[:keep], moved), etag=etag),
            Upsert(inbox_archive_key(user_id), {"items": moved}, etag=archive_etag),
        ])
        return True

    return retry_on_conflict(attempt, "list:inbox")


def page(user_id: str, number: int, size: int = PAGE_SIZE) -> Page:
    """Page ``number`` (1-based) of the history; past the last page, no items."""
    head, _ = _read(inbox_key(user_id))
    items = head.get("items", [])
    total = len(items) + int(head.get("archive_count", 0))
    start = (number - 1) * size
    if start + size > len(items) and head.get("archive_count"):
        archive, _ = _read(inbox_archive_key(user_id))
        # A spill that raced another append can leave an entry in both items: show it once.
        unique: dict[str, dict] = {}
        for entry in [*items, *archive.get("items", [])]:
            unique.setdefault(entry["id"], entry)
        items = list(unique.values())
    newest = head["items"][0]["id"] if head.get("items") else None
    return Page(items[start:start + size], number, max(1, math.ceil(total / size)), total,
                _unread(head.get("items", [])) + int(head.get("archive_unread", 0)), newest)


def _read_from(items: list[dict], start: int) -> tuple[list[dict], int]:
    """``items`` with every entry from index ``start`` on marked read, and how many changed."""
    changed = [{**i, "read": True} if n >= start and not i.get("read") else i for n, i in enumerate(items)]
    return changed, sum(1 for old, new in zip(items, changed) if old is not new)


def _read_one(items: list[dict], at: int) -> list[dict]:
    return [*items[:at], {**items[at], "read": True}, *items[at + 1:]]


def _position(items: list[dict], notification_id: str | None) -> int | None:
    return next((n for n, i in enumerate(items) if i["id"] == notification_id), None)


def _save(user_id: str, head: dict, etag: str | None, items: list[dict],
          archive: list[dict] | None = None, archive_etag: str | None = None) -> None:
    """Write the head alone, or the head and the archive in one transaction."""
    if archive is None:
        gateway().save_versioned(inbox_key(user_id), {**head, "items": items}, etag)
        return
    gateway().transact([
        Upsert(inbox_key(user_id), _head_value(items, archive), etag=etag),
        Upsert(inbox_archive_key(user_id), {"items": archive}, etag=archive_etag),
    ])


def mark_read(user_id: str, notification_id: str) -> bool | None:
    """Mark one entry read: True if it was unread, False if already read, None if it is not kept."""
    def attempt() -> bool | None:
        head, etag = _read(inbox_key(user_id))
        items = head.get("items", [])
        at = _position(items, notification_id)
        if at is not None:
            if items[at].get("read"):
                return False
            _save(user_id, head, etag, _read_one(items, at))
            return True
        if not head.get("archive_count"):
            return None
        archive, archive_etag = _read(inbox_archive_key(user_id))
        old = archive.get("items", [])
        at = _position(old, notification_id)
        if at is None or old[at].get("read"):
            return None if at is None else False
        _save(user_id, head, etag, items, _read_one(old, at), archive_etag)
        return True

    return retry_on_conflict(attempt, "list:inbox")


def mark_all_read(user_id: str, upto_id: str | None) -> int:
    """Mark read ``upto_id`` and everything older; returns how many entries changed.

    ``upto_id`` is the newest entry the reader was shown, so what arrived after the
    page was rendered stays unread. Without it (or when it is no longer kept), all are marked.
    """
    def attempt() -> int:
        head, etag = _read(inbox_key(user_id))
        items = head.get("items", [])
        at = _position(items, upto_id)
        archive, archive_etag = ({}, None)
        if head.get("archive_unread") or (at is None and head.get("archive_count")):
            archive, archive_etag = _read(inbox_archive_key(user_id))
        old = archive.get("items", [])
        in_archive = _position(old, upto_id) if at is None else None
        if at is None and in_archive is None:
            at = 0  # no marker, or it is no longer kept: mark everything
        new_items, changed = _read_from(items, len(items) if at is None else at)
        new_old, changed_old = _read_from(old, in_archive or 0)
        if changed_old:
            _save(user_id, head, etag, new_items, new_old, archive_etag)
        elif changed:
            _save(user_id, head, etag, new_items)
        return changed + changed_old

    return retry_on_conflict(attempt, "list:inbox")
