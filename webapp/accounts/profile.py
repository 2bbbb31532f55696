"""The account fields this package keeps in ``user:<id>`` (one ETag-guarded write of that key per change):

    email              the verified address (absent: none)
    email_pending      {address, nonce, at}: an address waiting for its verification link (the nonce makes the
                       link single-use: verifying clears it, a new address replaces it)
    email_prefs        {assigned, mentioned, completed, reminders, overdue, digest}: which notifications go by e-mail
    session_generation sessions signed in at an older generation are signed out (``sessions``)
    password_hash      (``webapp/auth/users.py``)

and the owner index of verified addresses:

    email-owner:<sha256 of the lower-cased address>   {user_id}   — created first-write at verification, so an
                                                        address is verified for one account at most
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from typing import Callable

from ..keys import email_owner_key, user_key
from ..dapr_gateway import Conflict, GatewayError, NotFound
from ..sidecar import gateway, retry_on_conflict

EMAIL_MAX = 254
EMAIL_SHAPE = re.compile(r"^[^@\s<>\"';,()\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                         r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
PREFERENCES = {  # preference → its label; notification kinds map onto these in ``preference_of``
    "assigned": "A task is assigned to me",
    "mentioned": "I am mentioned in a comment",
    "completed": "A task I follow is completed",
    "reminders": "Reminders",
    "overdue": "Overdue alerts",
    "digest": "The daily digest",
}
DEFAULT_PREFS = {"assigned": True, "mentioned": True, "completed": False, "reminders": True, "overdue": True,
                 "digest": False}
KIND_PREFERENCE = {"task.assigned": "assigned", "task.mentioned": "mentioned", "comment.mention": "mentioned",
                   "task.completed": "completed", "task.reminder": "reminders", "task.overdue": "overdue",
                   "digest": "digest"}


class AddressTaken(ValueError):
    """The address is verified for another account."""


def valid_address(address: str) -> bool:
    """Whether ``address`` has the shape of a deliverable address (one recipient, no header characters)."""
    return len(address) <= EMAIL_MAX and bool(EMAIL_SHAPE.match(address))


owner_key = email_owner_key


def preferences(record: dict) -> dict[str, bool]:
    """The user's e-mail choices, defaults filled in."""
    return {**DEFAULT_PREFS, **{k: bool(v) for k, v in (record.get("email_prefs") or {}).items()
                                if k in PREFERENCES}}


def preference_of(kind: str) -> str | None:
    """The preference that decides whether a notification of ``kind`` goes by e-mail (None: never)."""
    return KIND_PREFERENCE.get(kind)


def change_user(user_id: str, change: Callable[[dict], dict]) -> dict:
    """Write ``change(record as read)`` over ``user:<id>``, ETag-guarded; the new record.
    ``NotFound`` when there is no such user, ``Conflict`` when it kept changing."""
    def attempt() -> dict:
        item = gateway().get(user_key(user_id))
        if not item.exists:
            raise NotFound(user_id)
        value = change(dict(item.value))
        gateway().save(user_key(user_id), value, etag=item.etag)
        return value

    return retry_on_conflict(attempt, "user")


def record_of(user_id: str) -> dict:
    """The stored ``user:<id>``; ``NotFound`` if missing."""
    item = gateway().get(user_key(user_id))
    if not item.exists:
        raise NotFound(user_id)
    return item.value


def set_pending_address(user_id: str, address: str) -> str:
    """Make ``address`` the one waiting for verification; returns its nonce (the link's single-use value)."""
    nonce = secrets.token_urlsafe(12)
    at = datetime.now(timezone.utc).isoformat()
    change_user(user_id, lambda r: {**r, "email_pending": {"address": address.strip(), "nonce": nonce, "at": at}})
    return nonce


def verify_address(user_id: str, address: str, nonce: str) -> bool:
    """Make the pending ``address`` verified if the link's ``nonce`` is still the pending one; False when the
    link was used already or replaced by a newer address. ``AddressTaken`` when another account has it."""
    record = record_of(user_id)
    pending = record.get("email_pending") or {}
    if pending.get("nonce") != nonce or pending.get("address", "").lower() != address.lower():
        return False
    _claim_owner(address, user_id)
    old = record.get("email")

    def verified(r: dict) -> dict:
        if (r.get("email_pending") or {}).get("nonce") != nonce:
            raise _Replaced()
        r = {**r, "email": address, "email_verified_at": datetime.now(timezone.utc).isoformat()}
        r.pop("email_pending", None)
        return r

    try:
        change_user(user_id, verified)
    except _Replaced:
        return False
    if old and old.lower() != address.lower():
        _release_owner(old, user_id)
    return True


class _Replaced(Exception):
    """The pending address changed between the check and the write."""


def _claim_owner(address: str, user_id: str) -> None:
    key = owner_key(address)
    held = gateway().get(key)
    if held.exists and held.value.get("user_id") != user_id:
        raise AddressTaken(address)
    if not held.exists:
        try:
            gateway().create(key, {"user_id": user_id})
        except Conflict as err:  # someone verified it at the same moment
            raise AddressTaken(address) from err


def _release_owner(address: str, user_id: str) -> None:
    """Drop the owner entry of an address the user no longer has (left in place if the store does not answer:
    it then only keeps the address from being verified elsewhere)."""
    try:
        held = gateway().get(owner_key(address))
        if held.exists and held.value.get("user_id") == user_id:
            gateway().delete(owner_key(address), etag=held.etag)
    except GatewayError:
        pass


def remove_address(user_id: str) -> None:
    """Forget the user's address (verified and pending)."""
    old = record_of(user_id).get("email")

    def removed(r: dict) -> dict:
        r = dict(r)
        r.pop("email", None)
        r.pop("email_pending", None)
        return r

    change_user(user_id, removed)
    if old:
        _release_owner(old, user_id)


def user_of_address(address: str) -> str | None:
    """The account that verified ``address``, or None."""
    held = gateway().get(owner_key(address))
    return held.value.get("user_id") if held.exists else None


def set_preferences(user_id: str, prefs: dict[str, bool]) -> None:
    """Store which notifications go by e-mail."""
    chosen = {k: bool(prefs.get(k)) for k in PREFERENCES}
    change_user(user_id, lambda r: {**r, "email_prefs": chosen})


def turn_off(user_id: str, preference: str | None) -> None:
    """Unsubscribe from one preference (None: every e-mail notification)."""
    def off(r: dict) -> dict:
        prefs = preferences(r)
        for name in ([preference] if preference else list(PREFERENCES)):
            prefs[name] = False
        return {**r, "email_prefs": prefs}

    change_user(user_id, off)
