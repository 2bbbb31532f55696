"""Which account a single sign-on identity signs in to.

    sso-identity:<sha256 of issuer and subject>   the account an identity signs in to
    sso-identities-of:<user id>                   the account's links (shapes: webapp/keys.py)

Every link is listed with its account (the entry is written before the link, so no link is unlisted), so
deleting the account deletes its links and exporting it names them. A link is written once, create-if-absent (two first sign-ins of one identity cannot link it twice); a link
whose account was deleted is replaced, guarded by the ETag read. An identity is linked to an existing
account only after that account's password was entered (``users.authenticate``, throttled); otherwise a new
account is made for it, named after what the provider tells of the person, made unique.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

from .. import state_lists
from ..auth import users
from ..dapr_gateway import Conflict
from ..keys import sso_identities_of_key, sso_identity_key
from ..sidecar import gateway
from .oidc import Identity

NAME_MIN, NAME_MAX = 3, 32
MAX_LINKS = 20  # identities one account can be signed in to by (a bounded item)
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_.-]+")


class AlreadyLinked(ValueError):
    """The identity was linked to an account meanwhile (another first sign-in of it came first)."""


key = sso_identity_key
listed_key = sso_identities_of_key


def links_of(user_id: str) -> list[dict]:
    """The single sign-on identities linked to the account: [{id (the link's key), issuer, linked_at}]."""
    return state_lists.read(listed_key(user_id))[0]


def unlink_all(user_id: str) -> None:
    """Delete every link to the account (those still naming it), then their list."""
    gw = gateway()
    for entry in links_of(user_id):
        item = gw.get(entry["id"])
        if item.exists and item.value.get("user_id") == user_id:
            gw.delete(item.key, etag=item.etag)
    gw.delete(listed_key(user_id))


def linked_user(identity: Identity) -> users.User | None:
    """The account the identity signs in to, or None (never linked, or its account was deleted)."""
    item = gateway().get(key(identity.issuer, identity.subject))
    return users.load(item.value["user_id"]) if item.exists else None


def link(identity: Identity, user_id: str) -> None:
    """Link the identity to ``user_id``; ``AlreadyLinked`` if it signs in to another live account already."""
    gw = gateway()
    item = gw.get(key(identity.issuer, identity.subject))
    if item.exists:
        if item.value["user_id"] == user_id:
            return
        if users.load(item.value["user_id"]) is not None:
            raise AlreadyLinked(identity.subject)
    now = datetime.now(timezone.utc).isoformat()
    value = {"user_id": user_id, "issuer": identity.issuer, "subject": identity.subject, "linked_at": now}
    state_lists.append(listed_key(user_id), {"id": item.key, "issuer": identity.issuer, "linked_at": now},
                       MAX_LINKS)
    try:
        gw.save_versioned(item.key, value, item.etag)
    except Conflict as err:
        raise AlreadyLinked(identity.subject) from err


def name_base(identity: Identity) -> str:
    """A username to try first: the provider's preferred username, the e-mail's local part, or the name."""
    for candidate in (identity.preferred_username, (identity.email or "").split("@")[0], identity.name):
        cleaned = _NOT_IN_NAMES.sub("-", (candidate or "").split("@")[0]).strip("-.")[:NAME_MAX - 5]
        if len(cleaned) >= NAME_MIN:
            return cleaned
    return "user"


def candidate_names(base: str):
    """``base``, ``base-2`` … ``base-9``, then ``base-`` and random hex until one is free."""
    yield base
    for n in range(2, 10):
        yield f"{base}-{n}"
    while True:
        yield f"{base}-{secrets.token_hex(3)}"


def new_account(identity: Identity, tz: str = "UTC") -> users.User:
    """A new account for the identity (a unique username; a random password no one knows), linked to it."""
    for attempt, name in enumerate(candidate_names(name_base(identity))):
        try:
            user = users.register(name, secrets.token_urlsafe(32), tz)
        except users.UsernameTaken:
            if attempt > 30:
                raise
            continue
        link(identity, user.id)
        return user
    raise AssertionError("unreachable")
