"""Users in Dapr state, unique usernames, and login throttling shared by all workers.

    user:<id>               {id, username, password_hash, timezone, created_at}
    username:<lower name>   {user_id}   — the claim that makes a name unique
    login-failures:<name>   {count}     — with a TTL: the throttling window
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..dapr_gateway import Conflict, Upsert
from ..sidecar import gateway, retry_on_conflict


class UsernameTaken(ValueError):
    """Someone already registered this username."""


class Throttled(RuntimeError):
    """Too many failed logins for this account: wait for the window to pass."""


@dataclass(frozen=True)
class User:
    """The signed-in user (Flask-Login's user object)."""

    id: str
    username: str
    timezone: str = "UTC"

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.id



def _claim_key(username: str) -> str:
    return f"username:{username.lower()}"


def _failures_key(username: str) -> str:
    return f"login-failures:{username.lower()}"


def register(username: str, password: str, tz: str) -> User:
    """Create an account; ``UsernameTaken`` if the name exists (first registration wins).

    The claim is checked and written while holding a distributed lock on the
    name, so two registrations racing on any workers or replicas cannot both win.
    """
    gw = gateway()
    user = User(uuid.uuid4().hex, username, tz)
    try:
        with gw.lock(_claim_key(username), owner=user.id, expiry_seconds=10):
            if gw.get(_claim_key(username)).exists:
                raise UsernameTaken(username)
            gw.transact([
                Upsert(f"user:{user.id}", {
                    "id": user.id, "username": username, "timezone": tz,
                    "password_hash": generate_password_hash(password),
                    "created_at": datetime.now(timezone.utc).isoformat(),
                }),
                Upsert(_claim_key(username), {"user_id": user.id}),
            ])
    except Conflict as err:  # the lock is held: another registration of this name is under way
        raise UsernameTaken(username) from err
    from ..sweep import remember_user
    remember_user(user.id)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user if the password matches; ``Throttled`` after too many failures."""
    gw = gateway()
    cfg = current_app.config
    failures = gw.get(_failures_key(username))
    if failures.exists and failures.value.get("count", 0) >= cfg["LOGIN_MAX_FAILURES"]:
        raise Throttled(username)
    claim = gw.get(_claim_key(username))
    record = gw.get(f"user:{claim.value['user_id']}") if claim.exists else None
    if record and record.exists and check_password_hash(record.value["password_hash"], password):
        if failures.exists:
            gw.delete(_failures_key(username))
        return User(record.value["id"], record.value["username"], record.value.get("timezone", "UTC"))
    _count_failure(username)
    return None


def _count_failure(username: str) -> None:
    """One more failure in the window; the window starts at the first failure."""
    gw = gateway()
    window = int(current_app.config["LOGIN_WINDOW_SECONDS"])
    for _ in range(10):
        item = gw.get(_failures_key(username))
        count = (item.value or {}).get("count", 0) + 1
        try:
            gw.save(_failures_key(username), {"count": count}, etag=item.etag, ttl_seconds=window)
            return
        except Conflict:
            continue


def update_timezone(user: User, tz: str) -> User:
    """Store the user's time zone; returns the updated user (``Conflict`` if it kept changing)."""
    def attempt() -> User:
        item = gateway().get(f"user:{user.id}")
        gateway().save(f"user:{user.id}", {**item.value, "timezone": tz}, etag=item.etag)
        return User(user.id, user.username, tz)

    return retry_on_conflict(attempt, "user")
