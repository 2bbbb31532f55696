"""Changing a password (the current one asked) and resetting it with an e-mailed link.

A reset link names the user and a fingerprint of the password hash it was made against (``links``): it
works until it expires (30 minutes) or until the password changes in any way, its own use included, so it is
single-use without a stored nonce. A change or reset raises the session generation: every other session ends.
"""

from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..dapr_gateway import NotFound
from . import links, profile, sessions


def matches(record: dict, password: str) -> bool:
    """Whether ``password`` is the account's current password."""
    return bool(record.get("password_hash")) and check_password_hash(record["password_hash"], password)


def _replaced(password: str):
    new_hash = generate_password_hash(password)  # slow on purpose: outside the guarded write's retry loop

    def change(record: dict) -> dict:
        return {**record, "password_hash": new_hash,
                "session_generation": sessions.generation_of(record) + 1}

    return change


def change(user_id: str, new_password: str) -> dict:
    """Store a new password and end every other session; the new record. ``NotFound`` if the account is gone."""
    record = profile.change_user(user_id, _replaced(new_password))
    sessions.remember(record)
    return record


def reset_target(token: str) -> dict:
    """The account a reset link is for, as stored; ``links.LinkExpired`` / ``links.LinkInvalid`` when the link
    is past its 30 minutes, forged, or used already (the password changed since it was made)."""
    payload = links.read(current_app.secret_key, links.PASSWORD_RESET, token, links.RESET_MAX_AGE_SECONDS)
    try:
        record = profile.record_of(str(payload.get("u")))
    except NotFound:
        raise links.LinkInvalid("no such account") from None
    if not links.same(links.password_fingerprint(record.get("password_hash", "")), payload.get("f", "")):
        raise links.LinkInvalid("used already")
    return record


def reset(token: str, new_password: str) -> dict:
    """Set the password a valid reset link allows, ending every session; the new record. ``links.LinkInvalid``
    (or ``LinkExpired``) as ``reset_target``, also when the password changed between the check and the write."""
    record = reset_target(token)
    fingerprint = links.password_fingerprint(record["password_hash"])
    replace = _replaced(new_password)

    def guarded(current: dict) -> dict:
        if links.password_fingerprint(current.get("password_hash", "")) != fingerprint:
            raise links.LinkInvalid("used already")
        return replace(current)

    return profile.change_user(record["id"], guarded)
