"""Bounded, de-duplicated lists kept in one state item (inbox, activity history).

Appends are ETag-guarded read-modify-write loops, so concurrent appends from
several workers or replicas never lose an entry, and an entry whose id is
already present is not added twice (redelivered events have no second effect).
"""

from __future__ import annotations

from typing import Callable

from .sidecar import gateway, retry_on_conflict


def read(key: str) -> tuple[list[dict], str | None]:
    item = gateway().get(key)
    return list((item.value or {}).get("items", [])), item.etag


def appended(value: dict | None, entry: dict, limit: int) -> dict | None:
    """The list's item (as read) with ``entry`` added as the newest, or None if its ``id`` is there."""
    items = list((value or {}).get("items", []))
    if any(i["id"] == entry["id"] for i in items):
        return None
    return {**(value or {}), "items": [entry, *items][:limit]}


def append(key: str, entry: dict, limit: int) -> bool:
    """Add ``entry`` (newest first) unless its ``id`` is there; False if it was."""
    return update(key, lambda items: None if any(i["id"] == entry["id"] for i in items)
                  else [entry, *items][:limit])


def update(key: str, change: Callable[[list[dict]], list[dict] | None]) -> bool:
    """Apply ``change`` to the list; it returns the new list, or None for no change.

    ``Conflict`` when the list kept changing through every retry.
    """
    def attempt() -> bool:
        items, etag = read(key)
        new_items = change(items)
        if new_items is None:
            return False
        gateway().save_versioned(key, {"items": new_items}, etag)  # of two first writers, one conflicts
        return True

    return retry_on_conflict(attempt, f"list:{key.split(':', 1)[0]}")
