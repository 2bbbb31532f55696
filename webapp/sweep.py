"""The periodic sweep, triggered by the `cron` input binding: the outbox backstop and list row repair.

Time-driven work is not the sweep's: an overdue alert is a job at its task's due
time (webapp/overdue.py), the daily digest a job per user (webapp/digests.py).
A lease per period (``lease:sweep``) keeps the other replicas from running it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from datetime import datetime, timezone
from typing import Callable

from . import overdue, state_lists
from .dapr_gateway import Conflict, NotFound, Rejected
from .sidecar import gateway
from .tasks import store
from .users_index import all_user_ids

log = logging.getLogger(__name__)
PENDING = "outbox-pending-users"
# Every replica's binding fires on its own clock; a lease held for most of the period (and
# left to expire, not released) makes one run per period across all of them.
LEASES = {"sweep": 270, "relay": 8}  # name → seconds, under the cron (5 min) and relay (10 s) periods


def lease_key(name: str) -> str:
    """``lease:<name>``: held by the replica running that periodic work, until its TTL ends."""
    return f"lease:{name}"


def leased(name: str, work: Callable[[], dict[str, int]]) -> dict[str, int]:
    """Run ``work`` only if this replica wins the lease (a first-write create); else skip at once."""
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "at": datetime.now(timezone.utc).isoformat()}
    try:
        gateway().create(lease_key(name), holder, ttl_seconds=LEASES[name])
    except Conflict:
        log.info("%s skipped: another replica holds its lease", name)
        return {"leased": 0}
    return {"leased": 1, **work()}


def on_cron() -> dict[str, int]:
    """The `cron` binding: the sweep, once per period across replicas."""
    return leased("sweep", run)


def on_relay() -> dict[str, int]:
    """The `relay` binding: the outbox relay, once per period across replicas."""
    return leased("relay", relay)


def mark_pending(user_id: str) -> None:
    """Remember that a user's task has events the fast path could not publish."""
    state_lists.append(PENDING, {"id": user_id}, limit=100_000)


def relay() -> dict[str, int]:
    """Publish the outboxes of users marked pending (the frequent, cheap relay)."""
    items, _ = state_lists.read(PENDING)
    sent = 0
    for entry in items:
        sent += store.flush_user(entry["id"])
        if not any(item.value.get("outbox") for item in store.load_items(entry["id"])):
            state_lists.update(PENDING, lambda xs, uid=entry["id"]: [x for x in xs if x["id"] != uid])
    return {"users": len(items), "events": sent}


def run(now: datetime | None = None) -> dict[str, int]:
    """Publish every user's stranded outbox events and repair their list rows.

    One user's trouble (e.g. a notification another attempt is still delivering:
    409) does not hold up the others; ``Unavailable`` (the sidecar or a component
    is down) stops the sweep at once, and the binding's next trigger runs it again.
    """
    now = now or datetime.now(timezone.utc)
    counts = Counter(users=0, relayed=0, skipped=0)
    for user_id in all_user_ids():
        try:
            swept = sweep_user(user_id, now)
        except (Rejected, Conflict, NotFound) as err:
            log.warning("sweep of user %s skipped (the next sweep tries again): %s", user_id, err)
            counts["skipped"] += 1
            continue
        counts.update(swept)
    log.info("sweep done: %s", counts)
    return counts


overdue_marker_key = overdue.marker_key  # the marker moved with the alerts to webapp/overdue.py


def sweep_user(user_id: str, now: datetime) -> Counter:
    """One user's part of the sweep: the outbox backstop and list rows that missed an update.

    Overdue alerts and the digest are jobs (webapp/overdue.py, webapp/digests.py).
    ``now`` is kept for callers; nothing here depends on the time any more.
    """
    relayed = store.flush_user(user_id)  # outbox backstop
    store.reindex(user_id, store.load_items(user_id))  # repairs list rows that missed an update
    return Counter(users=1, relayed=relayed)
