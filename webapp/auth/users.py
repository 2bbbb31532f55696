"""Users in Dapr state, unique usernames, operator rights, and sign-in (throttled: see ``throttling``).

    user:<id>                       {id, username, password_hash, timezone, created_at, is_admin}
    username:<lower name>           {user_id}   — the claim that makes a name unique
                                    (+ claimed_at while its registration is under way)
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from werkzeug.security import check_password_hash, generate_password_hash

from ..dapr_gateway import Conflict, GatewayError, Item, NotFound, Unavailable, Upsert
from ..keys import user_key, username_key
from ..sidecar import gateway, retry_on_conflict
from ..users_index import remember_user
from . import throttling

log = logging.getLogger(__name__)


class UsernameTaken(ValueError):
    """Someone already registered this username."""


@dataclass(frozen=True)
class User:
    """The signed-in user (Flask-Login's user object)."""

    id: str
    username: str
    timezone: str = "UTC"
    is_admin: bool = False

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.id

    @classmethod
    def from_record(cls, record: dict) -> "User":
        """The user stored at ``user:<id>``."""
        return cls(record["id"], record["username"], record.get("timezone", "UTC"), bool(record.get("is_admin")))


CLAIM_PENDING_SECONDS = 60  # a claim whose registration never finished can be taken over after this


def register(username: str, password: str, tz: str) -> User:
    """Create an account; ``UsernameTaken`` if the name exists (first registration wins).

    The name is claimed first with a create-if-absent write (first-write concurrency, which
    every state store has), so two registrations racing on any workers or replicas cannot
    both win. The id then enters its users-index shard (one bounded item, whatever the
    number of users), and the account is written in one transaction with the claim's final
    form, guarded by the claim's ETag. A registration that fails releases its claim; one
    that died half-way leaves a pending claim that a later registration of the name takes
    over after CLAIM_PENDING_SECONDS. An id left in the index without an account is
    skipped by whoever walks the index (it has no tasks).
    """
    gw = gateway()
    user = User(uuid.uuid4().hex, username, tz)
    password_hash = generate_password_hash(password)  # slow on purpose: before the claim
    claim = _claim(username, user.id)
    try:
        try:
            remember_user(user.id)
        except Conflict as err:  # a burst of registrations kept the index busy: nothing stored, try again
            raise Unavailable("the users index is busy") from err
        gw.transact([
            Upsert(user_key(user.id), {
                "id": user.id, "username": username, "timezone": tz,
                "password_hash": password_hash,
                "created_at": datetime.now(timezone.utc).isoformat(),
            }),
            Upsert(username_key(username), {"user_id": user.id}, etag=claim.etag),
        ])
    except Conflict as err:  # the claim changed: taken over as abandoned while we were stalled
        raise UsernameTaken(username) from err
    except BaseException:
        _release(claim)
        raise
    return user


def _claim(username: str, user_id: str) -> Item:
    """Claim the name for ``user_id`` (pending: it carries ``claimed_at``); ``UsernameTaken`` if held."""
    gw = gateway()
    key = username_key(username)
    pending = {"user_id": user_id, "claimed_at": time.time()}
    held = gw.get(key)
    try:
        if not held.exists:
            gw.create(key, pending)  # Conflict when another registration claimed it first
        elif _abandoned(held.value):
            gw.save(key, pending, etag=held.etag)  # Conflict when someone else took it over first
        else:
            raise UsernameTaken(username)
    except Conflict as err:
        raise UsernameTaken(username) from err
    claim = gw.get(key)
    if (claim.value or {}).get("user_id") != user_id:
        raise UsernameTaken(username)
    return claim


def _abandoned(claim: dict) -> bool:
    """A pending claim older than CLAIM_PENDING_SECONDS (a finished claim has no ``claimed_at``)."""
    return "claimed_at" in claim and time.time() - float(claim["claimed_at"]) > CLAIM_PENDING_SECONDS


def _release(claim: Item) -> None:
    """Free the name of a failed registration; if that fails too, the claim is abandoned (taken over later)."""
    try:
        gateway().delete(claim.key, etag=claim.etag)
    except GatewayError as err:
        log.warning("username claim %s not released (free again after %ss): %s",
                    claim.key, CLAIM_PENDING_SECONDS, err)


def find(username: str) -> dict | None:
    """The stored record of ``username``, or None."""
    claim = gateway().get(username_key(username))
    record = gateway().get(user_key(claim.value['user_id'])) if claim.exists else None
    return record.value if record and record.exists else None


def load(user_id: str, item: Item | None = None) -> User | None:
    """The user stored at ``user:<id>`` (one read; ``item``: as already read), or None."""
    item = item if item is not None else gateway().get(user_key(user_id))
    return User.from_record(item.value) if item.exists else None


def authenticate(username: str, password: str, client: str) -> User | None:
    """The user if the password matches, else None; the attempt is counted first (``throttling.reserve``).

    Raises ``throttling.Throttled`` when this client used up its attempts or the attempt
    could not be counted (fail closed), ``throttling.Slowed`` when the account takes no
    attempt yet; ``Unavailable`` when the store does not answer.
    """
    throttling.reserve(username, client)
    record = find(username)
    if record and check_password_hash(record["password_hash"], password):
        throttling.signed_in(username, client)
        return User.from_record(record)
    return None


def patch(user_id: str, what: str = "user", **fields) -> User:
    """Set ``fields`` on the stored ``user:<id>`` with one ETag-guarded write, read again and retried on a race;
    returns the user as stored (``NotFound`` without an account, ``Conflict`` if it kept changing)."""
    key = user_key(user_id)

    def attempt() -> User:
        item = gateway().get(key)
        if not item.exists:
            raise NotFound(key)
        value = {**item.value, **fields}
        gateway().save(key, value, etag=item.etag)
        return User.from_record(value)

    return retry_on_conflict(attempt, what)


def set_digest_time(user_id: str, value: str) -> User:
    """Store the user's digest time ("HH:MM") (``NotFound``, ``Conflict`` if it kept changing)."""
    return patch(user_id, "digest time", digest_time=value)


def set_admin(username: str, admin: bool) -> User:
    """Grant or revoke operator rights of an existing account; ``NotFound`` if there is none."""
    claim = gateway().get(username_key(username))
    if not claim.exists:
        raise NotFound(username)
    return patch(claim.value["user_id"], is_admin=admin)


def update_timezone(user: User, tz: str) -> User:
    """Store the user's time zone; returns the updated user (``NotFound``, ``Conflict`` if it kept changing)."""
    return patch(user.id, timezone=tz)
