"""A token just created, kept for the one page that shows it, split in two halves that each reveal nothing.

    new-token:<random id>   {"sealed": <hex of the token XOR a pad>}   — with a TTL of HELD_SECONDS

The session cookie is signed but readable by whoever holds it, so it never carries the
token: it carries the item's id and a random pad as long as the token (a one-time pad),
and the store holds the token XOR that pad. Creating redirects to Settings (a reload
creates nothing), whose GET takes the item: the token is shown once, then gone.
"""

from __future__ import annotations

import logging
import secrets

from ..dapr_gateway import GatewayError
from ..keys import new_token_key
from ..sidecar import gateway

log = logging.getLogger(__name__)
HELD_SECONDS = 600  # long enough to follow the redirect; an item never taken goes with its TTL


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def hold(token: str) -> dict:
    """Store ``token`` sealed for one showing; returns what the session keeps to open it (``GatewayError``)."""
    plain = token.encode()
    pad = secrets.token_bytes(len(plain))
    held_id = secrets.token_hex(16)
    gateway().save(new_token_key(held_id), {"sealed": _xor(plain, pad).hex()}, ttl_seconds=HELD_SECONDS)
    return {"id": held_id, "pad": pad.hex()}


def take(held: dict | None) -> str | None:
    """The token held by ``hold``, once (None when there is none or it expired; ``GatewayError`` on a read)."""
    if not held:
        return None
    item = gateway().get(new_token_key(held["id"]))
    if not item.exists:
        return None
    try:
        gateway().delete(new_token_key(held["id"]))
    except GatewayError as err:  # it still goes with its TTL, and only this session's pad opens it
        log.warning("new token %s not dropped after showing: %s", held["id"], err)
    sealed, pad = bytes.fromhex(item.value["sealed"]), bytes.fromhex(held["pad"])
    return _xor(sealed, pad).decode() if len(sealed) == len(pad) else None
