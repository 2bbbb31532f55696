"""Every user's personal board gets its records: ``board:<user id>`` and its entry in ``boards-of:<user id>``.

A personal board's id is its user's, so ``tasks-of:<user>`` already is its index and no task is rewritten.
"""

from __future__ import annotations

from typing import Iterator

from ..auth.users import User
from ..boards import store as boards
from ..keys import memberships_key, user_key
from ..sidecar import gateway
from ..users_index import iter_user_pages

NAME = "personal-boards"


def _without_records() -> Iterator[User]:
    """The users whose ``boards-of`` record does not list their personal board (one bulk read per page); a
    deleted account (its record keeps only its id) has no board to give."""
    for page in iter_user_pages():
        read = gateway().get_many([user_key(u) for u in page] + [memberships_key(u) for u in page])
        for account, memberships in zip(read[:len(page)], read[len(page):]):
            listed = ((memberships.value or {}).get("boards") or {})
            if account.exists and not account.value.get("deleted") and account.value["id"] not in listed:
                yield User.from_record(account.value)


def run() -> int:
    """Write the missing records of each user's personal board; returns the users written for
    (``GatewayError``)."""
    return sum(1 for user in list(_without_records()) if boards.ensure_personal(user.id, user.username))


def remaining() -> int:
    """The users whose personal board has no records yet (``GatewayError``)."""
    return sum(1 for _ in _without_records())
