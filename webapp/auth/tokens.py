"""Personal access tokens for the JSON API, stored hashed.

    token:<sha256 of token>   {id, name, user_id, username, timezone, created_at, expires_at,
                               last_used_at, listed}   — with a TTL when it expires
                              or, once revoked, {revoked_at}   — with a TTL of REVOKED_KEPT
    tokens-of:<user id>       {"items": [{id, name, created_at, expires_at, hash}]}

Tokens are 256 random bits, so a plain SHA-256 is enough to store them safely
(no dictionary to attack); the token itself is shown once, at creation.

Every token is in its owner's list, so Settings can show and revoke it: the
entry is written before the token and removed after it (Redis does not roll
back a failed multi-key transaction, so order is what keeps this true), and a
token from before this rule is listed the first time it is used.

The owner's time zone is copied into each token and rewritten when the user
changes it (``retime``): a zone change is rare and costs a few sidecar calls,
while reading ``user:<id>`` on every API call would cost one more per call.

Revoking replaces the token by a tombstone rather than deleting it: every later
write of a token is guarded by the ETag it was read with, and Dapr's Redis store
lets an ETag-guarded write create a missing key, so a request that read the token
just before a delete (to record its last use, or a new time zone) would write it
back, working and unlisted. The tombstone's newer version refuses that write; it is
kept far longer than any request that read the token before it can take.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from datetime import datetime, timedelta, timezone

from .. import state_lists
from ..dapr_gateway import Conflict, GatewayError, Item, NotFound
from ..keys import token_key, tokens_of_key
from ..sidecar import gateway, retry_on_conflict
from . import users
from .users import User

log = logging.getLogger(__name__)
PREFIX = "tb_"
LIMIT = 50
LAST_USED_EVERY = timedelta(hours=1)  # at most one write per token per hour for its last-used date
ORPHAN_AGE = timedelta(minutes=10)  # an entry whose token was never stored (a failed create) goes after this
REVOKED_KEPT = timedelta(days=1)  # a revoked token's tombstone outlives every request that read the token


class TooManyTokens(ValueError):
    """The user already has ``LIMIT`` live tokens."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _live(item) -> bool:
    """A stored token (not missing, not the tombstone of a revoked one)."""
    return item.exists and "revoked_at" not in item.value


def _expired(entry: dict, now: datetime) -> bool:
    return bool(entry.get("expires_at")) and datetime.fromisoformat(entry["expires_at"]) <= now


def _save(digest: str, record: dict, etag: str | None = None) -> None:
    """Write a token record; one that expires keeps a TTL to its expiry (the state store drops it)."""
    ttl = None
    if record.get("expires_at"):
        ttl = max(1, math.ceil((datetime.fromisoformat(record["expires_at"]) - _now()).total_seconds()))
    gateway().save(token_key(digest), record, etag=etag, ttl_seconds=ttl)


def create(user: User, name: str, days: int | None = None) -> str:
    """A new token for ``user`` valid ``days`` (None: until revoked); returns it (shown once).

    Raises ``TooManyTokens`` when the user already has ``LIMIT`` live tokens.
    """
    token = PREFIX + secrets.token_urlsafe(32)
    digest, now = _hash(token), _now()
    entry = {"id": digest[:12], "name": name, "created_at": now.isoformat(),
             "expires_at": (now + timedelta(days=days)).isoformat() if days else None}

    def add(items: list[dict]) -> list[dict]:
        live = [i for i in items if not _expired(i, now)]
        if len(live) >= LIMIT:
            raise TooManyTokens(user.id)
        return [{**entry, "hash": digest}, *live]

    state_lists.update(tokens_of_key(user.id), add)  # the entry first: no token is ever unlisted
    _save(digest, {**entry, "user_id": user.id, "username": user.username, "timezone": user.timezone,
                   "last_used_at": None, "listed": True})
    # The session's zone may be stale (changed in another browser): a ``retime`` that ran
    # before this token existed did not see it, so the stored zone is checked once more.
    current = users.load(user.id)
    if current and current.timezone != user.timezone:
        retime(user.id, current.timezone)
    return token


def listing(user_id: str) -> list[dict]:
    """The user's live tokens (newest first) with their created, last-used and expiry dates."""
    items, _ = state_lists.read(tokens_of_key(user_id))
    records = gateway().get_many([token_key(i["hash"]) for i in items])
    now = _now()
    orphans = {i["id"] for i, rec in zip(items, records) if rec.exists and not _live(rec) or not rec.exists and (
        _expired(i, now) or datetime.fromisoformat(i["created_at"]) < now - ORPHAN_AGE)}
    if orphans:  # revoked, expired, or never stored: tidy the list
        state_lists.update(tokens_of_key(user_id), lambda xs: [x for x in xs if x["id"] not in orphans])
    return [_dated({**i, "last_used_at": rec.value.get("last_used_at")})
            for i, rec in zip(items, records) if _live(rec) and not _expired(rec.value, now)]


def _dated(entry: dict) -> dict:
    """A list entry for display: its dates as datetimes (None when unset), no hash."""
    dates = {k: datetime.fromisoformat(entry[k]) if entry.get(k) else None
             for k in ("created_at", "last_used_at", "expires_at")}
    return {"id": entry["id"], "name": entry["name"], **dates}


def revoke(user_id: str, token_id: str) -> None:
    """Revoke one of the user's tokens; ``NotFound`` if it is not theirs."""
    items, _ = state_lists.read(tokens_of_key(user_id))
    entry = next((i for i in items if i["id"] == token_id), None)
    if entry is None:
        raise NotFound(token_id)
    _bury(entry["hash"])  # the token first: it stops working even if the rest fails
    state_lists.update(tokens_of_key(user_id), lambda xs: [x for x in xs if x["id"] != token_id])


def _bury(digest: str) -> None:
    """Replace the token by its tombstone, over the version read (``Conflict`` if it kept changing)."""
    tombstone = {"revoked_at": _now().isoformat()}

    def attempt() -> None:
        item = gateway().get(token_key(digest))
        if not item.exists or _live(item):  # a missing key too: a write that read the token may still come
            gateway().save_versioned(token_key(digest), tombstone, item.etag,
                                     ttl_seconds=int(REVOKED_KEPT.total_seconds()))

    retry_on_conflict(attempt, "token")


def retime(user_id: str, tz: str) -> None:
    """Copy the user's new time zone into each of their tokens (``Conflict`` if one kept changing)."""
    items, _ = state_lists.read(tokens_of_key(user_id))
    for entry, item in zip(items, gateway().get_many([token_key(i["hash"]) for i in items])):
        if _live(item) and item.value.get("timezone") != tz:
            _update(entry["hash"], item, lambda record: {**record, "timezone": tz})


def _update(digest: str, first, change) -> None:
    """ETag-guarded change of a token record read as ``first``; a vanished or revoked token is left alone."""
    read = [first]

    def attempt() -> None:
        item = read.pop() if read else gateway().get(token_key(digest))
        if _live(item):
            _save(digest, change(item.value), etag=item.etag)

    retry_on_conflict(attempt, "token")


def resolve(token: str) -> User | None:
    """The user a bearer token belongs to, or None (unknown, revoked or expired)."""
    return resolve_reading(token, [])[0]


def resolve_reading(token: str, also: list[str]) -> tuple[User | None, dict[str, Item]]:
    """``resolve``, whose one read also brings the keys ``also`` (what the request reads next), by key; those
    are read whatever the token, and only a caller holding a user may act on them."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None, {}
    digest = _hash(token)
    item, *more = gateway().get_many([token_key(digest), *also]) if also else [gateway().get(token_key(digest))]
    return _resolved(digest, item), {it.key: it for it in more}


def _resolved(digest: str, item: Item) -> User | None:
    if not _live(item) or _expired(item.value, _now()):
        return None
    record = item.value
    if not record.get("listed"):
        _list_unlisted(digest, record)
    elif _due_for_last_used(record):
        _touch(digest, item)
    return User(record["user_id"], record["username"], record.get("timezone", "UTC"))


def _due_for_last_used(record: dict) -> bool:
    last = record.get("last_used_at")
    return not last or datetime.fromisoformat(last) < _now() - LAST_USED_EVERY


def _touch(digest: str, item) -> None:
    """Record the last use; a lost race or a failed write only delays the date, so it is logged, not raised."""
    try:
        _save(digest, {**item.value, "last_used_at": _now().isoformat()}, etag=item.etag)
    except (Conflict, GatewayError) as err:
        log.info("last use of token %s not recorded: %s", digest[:12], err)


def _list_unlisted(digest: str, record: dict) -> None:
    """A token made before every token was listed (the list used to keep 50): list it, then mark it."""
    entry = {key: record.get(key) for key in ("id", "name", "created_at", "expires_at")}
    state_lists.update(tokens_of_key(record["user_id"]), lambda xs: None if any(x["id"] == entry["id"] for x in xs)
                       else [*xs, {**entry, "hash": digest}])
    _update(digest, gateway().get(token_key(digest)),
            lambda value: {**value, "listed": True, "last_used_at": _now().isoformat()})
