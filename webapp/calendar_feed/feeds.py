"""Calendar feed secrets in Dapr state.

    calendar:<sha256 of secret>  {user_id, board_id (None: every board), created_at}: what a feed URL opens
                                 (one read per feed request)
    calendars-of:<user id>       {"items": [{id, secret, board_id, board_name, created_at}]}: the person's
                                 feeds, so Settings can show each URL again, revoke and replace it

A secret is 192 random bits, so a plain SHA-256 names its key safely. An entry is written to the person's list
before its key, and the key deleted before the entry goes (Redis does not roll back a failed multi-key
transaction, so order keeps every live key listed). Nothing but ``create`` ever writes a ``calendar:`` key and
each write is a first-write create of a fresh secret, so a deleted key never comes back: revoking is final.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

from .. import state_lists
from ..dapr_gateway import NotFound
from ..keys import calendar_feed_key, calendars_of_key
from ..sidecar import gateway

LIMIT = 20  # feeds per person


class TooManyFeeds(ValueError):
    """The person already has ``LIMIT`` feeds."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def listing(user_id: str) -> list[dict]:
    """The person's feeds, newest first."""
    return state_lists.read(calendars_of_key(user_id))[0]


def create(user_id: str, board_id: str | None, board_name: str) -> dict:
    """A new feed of the person's tasks (``board_id``: on that board only); ``TooManyFeeds`` at ``LIMIT``."""
    secret = secrets.token_urlsafe(24)
    digest = _hash(secret)
    now = datetime.now(timezone.utc).isoformat()
    entry = {"id": digest[:16], "secret": secret, "board_id": board_id, "board_name": board_name, "created_at": now}

    def add(items: list[dict]) -> list[dict]:
        if len(items) >= LIMIT:
            raise TooManyFeeds(f"You already have {LIMIT} calendar feeds.")
        return [entry, *items]

    state_lists.update(calendars_of_key(user_id), add)
    gateway().create(calendar_feed_key(digest), {"user_id": user_id, "board_id": board_id, "created_at": now})
    return entry


def revoke(user_id: str, feed_id: str) -> dict:
    """Revoke one of the person's feeds for good: its URL answers 404 from now on. ``NotFound`` if not theirs."""
    entry = next((e for e in listing(user_id) if e["id"] == feed_id), None)
    if entry is None:
        raise NotFound(f"calendar feed {feed_id}")
    gateway().delete(calendar_feed_key(_hash(entry["secret"])))
    state_lists.update(calendars_of_key(user_id), lambda items: [e for e in items if e["id"] != feed_id])
    return entry


def replace(user_id: str, feed_id: str) -> dict:
    """A new secret URL for the same feed, the old one revoked; ``NotFound`` if the feed is not theirs."""
    old = next((e for e in listing(user_id) if e["id"] == feed_id), None)
    if old is None:
        raise NotFound(f"calendar feed {feed_id}")
    revoke(user_id, feed_id)
    return create(user_id, old["board_id"], old["board_name"])


def opened(secret: str) -> dict:
    """What a secret URL opens ({user_id, board_id}); ``NotFound`` for an unknown or revoked secret."""
    if not secret or len(secret) > 64:
        raise NotFound("calendar feed")
    item = gateway().get(calendar_feed_key(_hash(secret)))
    if not item.exists or not item.value.get("user_id"):
        raise NotFound("calendar feed")
    return item.value
