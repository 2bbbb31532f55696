"""One run per period across replicas: every replica's binding fires on its own clock, and a lease held for
most of the period (and left to expire, not released) lets only one of them do the work."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta, timezone
from typing import Callable

from ..dapr_gateway import Conflict
from ..keys import lease_key
from ..sidecar import gateway

log = logging.getLogger(__name__)


def lease_expired(value: dict | None, now: datetime, seconds: int) -> bool:
    """Whether a lease as read has expired by its own value: its ``expires_at`` (one without: ``at`` + ``seconds``)
    is past; an unreadable one has."""
    try:
        expires = value.get("expires_at") or (datetime.fromisoformat(value["at"]) + timedelta(seconds=seconds))
        return datetime.fromisoformat(str(expires)) <= now
    except (AttributeError, KeyError, TypeError, ValueError):
        return True


def leased(name: str, seconds: int, work: Callable[[], dict[str, int]]) -> dict[str, int]:
    """Run ``work`` only if this replica wins the lease ``name`` for ``seconds`` (a first-write create, or the
    takeover of one whose own expiry passed); else skip at once. ``GatewayError`` from the store or ``work``."""
    now = datetime.now(timezone.utc)
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "at": now.isoformat(),
              "expires_at": (now + timedelta(seconds=seconds)).isoformat()}
    try:
        gateway().create(lease_key(name), holder, ttl_seconds=seconds)
    except Conflict:
        if not _took_over(name, seconds, holder, now):
            log.info("%s skipped: another replica holds its lease", name)
            return {"leased": 0}
    return {"leased": 1, **work()}


def _took_over(name: str, seconds: int, holder: dict, now: datetime) -> bool:
    """Take over a lease still there after its own expiry (on Redis a create's TTL is a separate EXPIRE: a crash
    between the two leaves it for ever); ETag-guarded, so of several replicas one wins."""
    gw = gateway()
    current = gw.get(lease_key(name))
    if not current.exists or not lease_expired(current.value, now, seconds):
        return False
    try:
        gw.save(current.key, holder, etag=current.etag, ttl_seconds=seconds)
    except Conflict:
        return False
    log.warning("%s: took over a lease that outlived its expiry: %s", name, current.value)
    return True
