"""The index of every account's id: registration adds to it; the sweep and the reminder reconciliation walk it."""

from __future__ import annotations

from . import state_lists

USERS_INDEX = "users-index"


def all_user_ids() -> list[str]:
    """Every registered account's id (an id whose registration failed half-way has no tasks)."""
    items, _ = state_lists.read(USERS_INDEX)
    return [i["id"] for i in items]


def remember_user(user_id: str) -> None:
    """Add a user to the index; ``Conflict`` when the index kept changing through every retry."""
    state_lists.append(USERS_INDEX, {"id": user_id}, limit=1_000_000)
