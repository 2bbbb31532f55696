"""The index of every account's id, sharded: registration adds to one shard; background work walks them in pages.

    users-index:<00..ff>   {"items": [{"id": …}, …]}  — the ids whose sha256 starts with those 2 hex digits
    users-index            the old single item (every id): folded into the shards by ``flask migrate-all``

256 shards hold ~1/256 of the users each (~3,900 at 1,000,000 users, ~160 kB);
a shard holds at most ``SHARD_LIMIT`` ids (42 bytes each: 420 kB, a tenth of
daprd's 4 MB item limit), so registration reads and writes one bounded item
whatever the number of users, and concurrent registrations rarely share a key.
"""

from __future__ import annotations

import logging
from typing import Iterator

from . import state_lists
from .dapr_gateway import Unavailable
from .keys import USERS_INDEX_SHARDS, users_index_shard_key, users_index_shard_keys
from .sidecar import gateway

log = logging.getLogger(__name__)
SHARDS = USERS_INDEX_SHARDS
SHARD_LIMIT = 10_000  # ids per shard: 2,560,000 users in all
SHARDS_PER_PAGE = 16  # shards read by one bulk get while walking


class IndexFull(Unavailable):
    """The user's shard holds ``SHARD_LIMIT`` ids: nothing was stored (raise the shard count to grow)."""


def shard_pages(shards_per_page: int = SHARDS_PER_PAGE) -> list[list[str]]:
    """The shard keys in groups of at most ``shards_per_page`` (one bulk read each)."""
    keys = users_index_shard_keys()
    return [keys[i:i + shards_per_page] for i in range(0, len(keys), max(1, shards_per_page))]


def added(user_ids: list[str]):
    """The change that adds ``user_ids`` to a shard's entries (``IndexFull`` past ``SHARD_LIMIT``)."""
    def change(items: list[dict]) -> list[dict] | None:
        known = {i["id"] for i in items}
        new = [{"id": u} for u in dict.fromkeys(user_ids) if u not in known]
        if not new:
            return None
        if len(items) + len(new) > SHARD_LIMIT:
            raise IndexFull(f"users index shard full ({SHARD_LIMIT} ids)")
        return [*reversed(new), *items]
    return change


def remember_user(user_id: str) -> None:
    """Add a user to their shard (one bounded read-modify-write); ``Conflict`` when it kept changing."""
    state_lists.update(users_index_shard_key(user_id), added([user_id]))


def iter_user_pages(shards_per_page: int = SHARDS_PER_PAGE) -> Iterator[list[str]]:
    """Every registered id, a page per ``shards_per_page`` shards (one bulk get each, ≤ that × SHARD_LIMIT ids).

    An id whose registration failed half-way has no account and no tasks.
    """
    for keys in shard_pages(shards_per_page):
        page = [entry["id"] for item in gateway().get_many(keys) for entry in (item.value or {}).get("items", [])]
        if page:
            yield page


def iter_user_ids(shards_per_page: int = SHARDS_PER_PAGE) -> Iterator[str]:
    """Every registered id, read a page of shards at a time."""
    for page in iter_user_pages(shards_per_page):
        yield from page


def page_after(cursor: dict | None, limit: int, shards_per_read: int = SHARDS_PER_PAGE) -> tuple[list[str], dict]:
    """Up to ``limit`` ids after ``cursor`` ({"shard": n, "after": id}) in walk order, and the cursor after them.

    The walk goes shard by shard, ids in sorted order within a shard, and wraps
    around after the last shard; one call never visits a shard twice, so with
    fewer than ``limit`` users one page holds each of them once. Shards are read
    ``shards_per_read`` at a time (one bulk get each).
    """
    start = int((cursor or {}).get("shard", 0)) % SHARDS
    after = str((cursor or {}).get("after", ""))
    order = [(start + n) % SHARDS for n in range(SHARDS)]
    page: list[str] = []
    for at in range(0, SHARDS, shards_per_read):
        numbers = order[at:at + shards_per_read]
        items = gateway().get_many([users_index_shard_keys()[n] for n in numbers])
        for number, item in zip(numbers, items):
            ids = sorted(e["id"] for e in (item.value or {}).get("items", []))
            if number == start:
                ids = [i for i in ids if i > after]
            room = limit - len(page)
            page.extend(ids[:room])
            if len(ids) > room:  # the page is full inside this shard: go on from its last id next time
                return page, {"shard": number, "after": page[-1]}
            if len(page) == limit:
                return page, {"shard": (number + 1) % SHARDS, "after": ""}
    return page, {"shard": start, "after": ""}  # every shard visited: the next walk starts a new round


def all_user_ids() -> list[str]:
    """Every registered id as one list (O(users) memory: prefer ``iter_user_ids``)."""
    return list(iter_user_ids())
