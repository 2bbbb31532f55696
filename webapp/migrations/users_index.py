"""The old single ``users-index`` item (every id) folded into its shards ``users-index:<00..ff>``."""

from __future__ import annotations

import logging

from .. import state_lists
from ..dapr_gateway import Conflict
from ..keys import USERS_INDEX_LEGACY, users_index_shard_key
from ..sidecar import gateway
from ..users_index import added

log = logging.getLogger(__name__)
NAME = "users-index"


def run() -> int:
    """Fold the old single item into the shards and delete it; returns the ids moved (``GatewayError``)."""
    gw = gateway()
    legacy = gw.get(USERS_INDEX_LEGACY)
    if not legacy.exists:
        return 0
    by_shard: dict[str, list[str]] = {}
    for entry in legacy.value.get("items", []):
        by_shard.setdefault(users_index_shard_key(entry["id"]), []).append(entry["id"])
    for key, ids in by_shard.items():
        state_lists.update(key, added(ids))
    try:
        gw.delete(USERS_INDEX_LEGACY, etag=legacy.etag)
    except Conflict:
        log.info("users-index changed while it was folded into shards; run the migration again")
    moved = sum(len(ids) for ids in by_shard.values())
    log.info("folded %d ids of the old users-index into %d shards", moved, len(by_shard))
    return moved


def remaining() -> int:
    """1 while the old single item is stored, else 0."""
    return int(gateway().get(USERS_INDEX_LEGACY).exists)
