"""A task's checklist: ordered items (text, done), and the item-level changes people make to it. No I/O.

A change names its item by id and carries the item as the person saw it (``seen``: a short fingerprint of its
text and state). It is re-applied on the task as it is now: a tick of one item merges with anything that
happened to the others meanwhile, and only a change to the same item (ticked, renamed, moved or removed by
someone else) is a conflict (``ItemChanged``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

ITEMS_MAX, ITEM_TEXT_MAX = 50, 200
OPS = ("tick", "untick", "rename", "up", "down", "remove")


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    text: str
    done: bool = False

    @property
    def seen(self) -> str:
        """A fingerprint of the item as shown (its text and state): a change made from it carries it."""
        return fingerprint(self.text, self.done)


class ItemChanged(Exception):
    """Someone else changed (or removed) the checklist item this change was made from (a real conflict)."""

    def __init__(self, item_id: str, current: ChecklistItem | None):
        super().__init__(f"checklist item {item_id} changed meanwhile")
        self.item_id, self.current = item_id, current


class ChecklistFull(ValueError):
    """The checklist already holds ``ITEMS_MAX`` items."""


def fingerprint(text: str, done: bool) -> str:
    return hashlib.sha256(f"{int(bool(done))}:{text}".encode()).hexdigest()[:12]


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def to_json(items) -> list[dict]:
    return [{"id": i.id, "text": i.text, "done": bool(i.done)} for i in items]


def from_json(raw) -> tuple[ChecklistItem, ...]:
    return tuple(ChecklistItem(str(i.get("id") or new_id()), str(i.get("text") or ""), bool(i.get("done")))
                 for i in raw or [] if isinstance(i, dict))


def progress(value) -> list[int] | None:
    """[done, total] of a checklist (what list rows keep of it); None for none."""
    items = tuple(value or ())
    return [sum(1 for i in items if i.done), len(items)] if items else None


def progress_text(value) -> str:
    """ "3/5" from a checklist or from its progress as a list row keeps it; "" for none."""
    if not value:
        return ""
    done, total = value if isinstance(value, list) and value and isinstance(value[0], int) else progress(value)
    return f"{done}/{total}"


def cleaned(items) -> tuple[ChecklistItem, ...]:
    """Items with trimmed text, ids unique (a missing or repeated id gets a new one), blank ones dropped."""
    seen_ids: set[str] = set()
    kept = []
    for item in items or ():
        text = item.text.strip()
        if not text:
            continue
        item_id = item.id if item.id and item.id not in seen_ids and len(item.id) <= 32 else new_id()
        seen_ids.add(item_id)
        kept.append(ChecklistItem(item_id, text, bool(item.done)))
    return tuple(kept)


def check_text(text: str) -> str:
    """The item's text, trimmed; ``ValueError`` if blank or longer than ``ITEM_TEXT_MAX``."""
    text = (text or "").strip()
    if not text:
        raise ValueError("Write what the item is.")
    if len(text) > ITEM_TEXT_MAX:
        raise ValueError(f"An item is at most {ITEM_TEXT_MAX} characters.")
    return text


def added(items: tuple[ChecklistItem, ...], text: str, item_id: str | None = None) -> tuple[ChecklistItem, ...]:
    """A new item at the end; ``ChecklistFull`` past ``ITEMS_MAX``, ``ValueError`` for bad text."""
    if len(items) >= ITEMS_MAX:
        raise ChecklistFull(f"A checklist holds at most {ITEMS_MAX} items.")
    return (*items, ChecklistItem(item_id or new_id(), check_text(text), False))


def changed(items: tuple[ChecklistItem, ...], item_id: str, op: str, seen: str,
            text: str = "") -> tuple[ChecklistItem, ...]:
    """``op`` applied to the item ``item_id`` as it is in ``items`` (the checklist now).

    ``ItemChanged`` if that item is gone or is no longer as the person saw it (``seen``); ``ValueError`` for
    an unknown ``op`` or a bad new text.
    """
    if op not in OPS:
        raise ValueError(f"unknown checklist change {op!r}")
    at = next((n for n, i in enumerate(items) if i.id == item_id), None)
    current = items[at] if at is not None else None
    if current is None or current.seen != seen:
        raise ItemChanged(item_id, current)
    rest = list(items)
    if op in ("tick", "untick"):
        rest[at] = ChecklistItem(current.id, current.text, op == "tick")
    elif op == "rename":
        rest[at] = ChecklistItem(current.id, check_text(text), current.done)
    elif op == "remove":
        del rest[at]
    else:
        to = max(0, at - 1) if op == "up" else min(len(rest) - 1, at + 1)
        rest.insert(to, rest.pop(at))
    return tuple(rest)


def reset(items) -> tuple[ChecklistItem, ...]:
    """The items undone (a repeating task's next instance starts its checklist afresh)."""
    return tuple(ChecklistItem(i.id, i.text, False) for i in items or ())
