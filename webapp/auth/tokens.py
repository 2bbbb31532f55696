"""Personal access tokens for the JSON API, stored hashed.

    token:<sha256 of token>   {user_id, username, timezone, id, name, created_at}
    tokens-of:<user id>       {"items": [{id, name, created_at, hash}]}

Tokens are 256 random bits, so a plain SHA-256 is enough to store them safely
(no dictionary to attack); the token itself is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone


from .. import state_lists
from ..dapr_gateway import Delete, NotFound
from .users import User
from ..sidecar import gateway

PREFIX = "tb_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _list_key(user_id: str) -> str:
    return f"tokens-of:{user_id}"


def create(user: User, name: str) -> str:
    """A new token for ``user``; returns the token (shown once)."""
    token = PREFIX + secrets.token_urlsafe(32)
    digest = _hash(token)
    entry = {"id": digest[:12], "name": name, "created_at": datetime.now(timezone.utc).isoformat()}
    gateway().save(f"token:{digest}", {
        **entry, "user_id": user.id, "username": user.username, "timezone": user.timezone})
    state_lists.append(_list_key(user.id), {**entry, "hash": digest}, limit=50)
    return token


def listing(user_id: str) -> list[dict]:
    items, _ = state_lists.read(_list_key(user_id))
    return items


def revoke(user_id: str, token_id: str) -> None:
    """Revoke one of the user's tokens; ``NotFound`` if it is not theirs."""
    entry = next((i for i in listing(user_id) if i["id"] == token_id), None)
    if entry is None:
        raise NotFound(token_id)
    gateway().transact([Delete(f"token:{entry['hash']}")])
    state_lists.update(_list_key(user_id), lambda items: [i for i in items if i["id"] != token_id])


def resolve(token: str) -> User | None:
    """The user a bearer token belongs to, or None."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    item = gateway().get(f"token:{_hash(token)}")
    if not item.exists:
        return None
    return User(item.value["user_id"], item.value["username"], item.value.get("timezone", "UTC"))



