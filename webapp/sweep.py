"""The periodic sweep, triggered by the `cron` input binding: the outbox backstop and list row repair.

Time-driven work is not the sweep's: an overdue alert is a job at its task's due
time (webapp/overdue.py), the daily digest a job per user (webapp/digests.py).
A lease per period (``lease:sweep``) keeps the other replicas from running it.

The sweep is a backstop, not the main path: events go out with the request
(or through the relay when the broker was down), rows are written in the
change's own transaction. So each run walks only one page of users
(``PAGE_USERS``) from a stored cursor, reading their indexes and documents in
bulk: an empty run costs about 1 + 16 + 2 × 20 calls whatever the number of
users, and the walk comes round to each user every users ÷ ``PAGE_USERS`` runs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Callable

from . import digests, horizon, overdue, state_lists, users_index
from .activity import history_key
from .auth.users import user_key
from .boards.store import memberships_key
from .dapr_gateway import Conflict, Delete, Item, NotFound, Rejected
from .my_tasks import repair as my_tasks_repair
from .my_tasks.index import my_key
from .notifications.followers import watchers_key
from .sidecar import gateway
from .tasks import store
from .tasks.outbox import SWEEP_GRACE, flush_board, pending_ids, relay_items

log = logging.getLogger(__name__)
PENDING = store.PENDING_BOARDS
# Every replica's binding fires on its own clock; a lease held for most of the period (and
# left to expire, not released) makes one run per period across all of them.
LEASES = {"sweep": 270, "relay": 8}  # name → seconds, under the cron (5 min) and relay (10 s) periods
CURSOR_KEY = "sweep-cursor"  # {"shard": n, "after": user id}: where the next run's page starts
RELAY_BUDGET_SECONDS = 2.0  # no new board after this; with one board's calls (publish deadline 5 s) under the lease
RELAY_MAX_BOARDS = 200  # per relay run; the rest waits for the next
PAGE_USERS = 1_000  # users per run: at 100,000 users the walk comes round every 100 runs (8 h 20 min)
USERS_PER_READ = 50  # indexes per bulk read
KEYS_PER_READ = 500  # task documents per bulk read


def lease_key(name: str) -> str:
    """``lease:<name>``: held by the replica running that periodic work, until its TTL ends."""
    return f"lease:{name}"


def lease_expired(value: dict | None, now: datetime, seconds: int) -> bool:
    """Whether a lease as read has expired by its own value: its ``expires_at`` (one without: ``at`` + ``seconds``)
    is past; an unreadable one has."""
    try:
        expires = value.get("expires_at") or (datetime.fromisoformat(value["at"]) + timedelta(seconds=seconds))
        return datetime.fromisoformat(str(expires)) <= now
    except (AttributeError, KeyError, TypeError, ValueError):
        return True


def leased(name: str, work: Callable[[], dict[str, int]]) -> dict[str, int]:
    """Run ``work`` only if this replica wins the lease (a first-write create, or the takeover of one whose own
    expiry passed); else skip at once."""
    now = datetime.now(timezone.utc)
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "at": now.isoformat(),
              "expires_at": (now + timedelta(seconds=LEASES[name])).isoformat()}
    try:
        gateway().create(lease_key(name), holder, ttl_seconds=LEASES[name])
    except Conflict:
        if not _took_over(name, holder, now):
            log.info("%s skipped: another replica holds its lease", name)
            return {"leased": 0}
    return {"leased": 1, **work()}


def _took_over(name: str, holder: dict, now: datetime) -> bool:
    """Take over a lease still there after its own expiry (on Redis a create's TTL is a separate EXPIRE: a crash
    between the two leaves it for ever); ETag-guarded, so of several replicas one wins."""
    gw = gateway()
    current = gw.get(lease_key(name))
    if not current.exists or not lease_expired(current.value, now, LEASES[name]):
        return False
    try:
        gw.save(current.key, holder, etag=current.etag, ttl_seconds=LEASES[name])
    except Conflict:
        return False
    log.warning("%s: took over a lease that outlived its expiry: %s", name, current.value)
    return True


def on_cron() -> dict[str, int]:
    """The `cron` binding: the sweep, once per period across replicas."""
    return leased("sweep", run)


def on_relay() -> dict[str, int]:
    """The `relay` binding: the outbox relay, once per period across replicas."""
    return leased("relay", relay)


def relay(budget_seconds: float = RELAY_BUDGET_SECONDS, max_boards: int = RELAY_MAX_BOARDS) -> dict[str, int]:
    """Publish the outboxes of boards marked pending, oldest mark first (the frequent, cheap relay).

    A run ends well within its lease: at the first board whose events the broker refused (it is down: the
    rest waits for the next run), at ``max_boards``, and starts no board after ``budget_seconds``.
    """
    items, _ = state_lists.read(PENDING)
    started = time.monotonic()
    sent, visited, flushed = 0, 0, set()
    for entry in reversed(items[-max_boards:]):
        if visited and time.monotonic() - started > budget_seconds:
            break
        visited += 1
        done, left = flush_board(entry["id"])
        my_tasks_repair.reconcile_board(entry["id"])  # "My tasks" entries that missed their write, as rows do
        sent += done
        if left:
            break
        flushed.add((entry["id"], entry.get("mark")))
    if flushed:  # only the marks read: one made meanwhile (a request's publish failed during the flush) stays
        state_lists.update(PENDING, lambda xs: [x for x in xs if (x["id"], x.get("mark")) not in flushed])
    return {"users": visited, "events": sent}


def run() -> dict[str, int]:
    """One page of the walk: publish stranded outbox events and repair list rows of the next ``PAGE_USERS`` users.

    Each run takes the page after the stored cursor (``sweep-cursor``) and moves
    the cursor on, so a run costs the same few dozen calls at 1,000 users and at
    1,000,000; the walk comes round to each user every users ÷ ``PAGE_USERS``
    periods. One batch's trouble (e.g. a notification another attempt is still
    delivering: 409) does not hold up the others; ``Unavailable`` (the sidecar or
    a component is down) stops the run at once, and the cursor stays where it was.
    """
    gw = gateway()
    horizon.ensure()  # the daily job that brings deferred jobs into the scheduler (if it lost it)
    cursor = gw.get(CURSOR_KEY).value
    user_ids, next_cursor = users_index.page_after(cursor, PAGE_USERS)
    counts = Counter(users=0, relayed=0, skipped=0)
    for batch in batches(user_ids):
        try:
            counts.update(sweep_batch(batch))
        except (Rejected, Conflict, NotFound) as err:
            log.warning("sweep of %d users skipped (the next round tries again): %s", len(batch), err)
            counts["skipped"] += len(batch)
    gw.save(CURSOR_KEY, next_cursor)  # no ETag: the lease makes this the only writer
    log.info("sweep page done: %s, next from %s", dict(counts), next_cursor)
    return dict(counts)


def batches(user_ids: list[str], size: int = USERS_PER_READ) -> list[list[str]]:
    """``user_ids`` in groups whose indexes are read with one bulk get."""
    return [user_ids[i:i + size] for i in range(0, len(user_ids), size)]


def owned_boards(user_id: str, memberships: dict | None) -> list[str]:
    """The boards a walk over users covers for ``user_id``: their personal board and the shared ones they own.

    A shared board with several owners is covered once per owner (a bounded repeat).
    """
    shared = ((memberships or {}).get("boards") or {}).items()
    return [user_id, *(board for board, entry in shared if board != user_id and entry.get("role") == "owner")]


def sweep_batch(user_ids: list[str]) -> Counter:
    """Some users' part of the sweep: their boards' indexes in bulk reads, the documents in bounded bulk reads,
    and a new digest job for each user whose digest chain ended.

    One read of the users' personal indexes, memberships, accounts, next digests and "My tasks", one more only
    if they own shared boards (with the other members' "My tasks": ``my_tasks.repair``). With nothing to repair,
    relay or re-create that is all: no writes, no further calls.
    """
    gw = gateway()
    n = len(user_ids)
    first = gw.get_many([store.index_key(u) for u in user_ids] + [memberships_key(u) for u in user_ids]
                        + [digests.next_key(u) for u in user_ids] + [user_key(u) for u in user_ids]
                        + [my_key(u) for u in user_ids])
    indexes = {uid: item.value or {} for uid, item in zip(user_ids, first)}
    now = datetime.now(timezone.utc)
    ended = [(uid, account.value) for uid, marker, account in zip(user_ids, first[2 * n:3 * n], first[3 * n:4 * n])
             if account.exists and digests.chain_ended(marker, now)]
    recreated = sum(1 for user_id, record in ended if digests.schedule(user_id, now, record))
    shared = [b for uid, item in zip(user_ids, first[n:2 * n]) for b in owned_boards(uid, item.value)[1:]]
    shared = [b for b in dict.fromkeys(shared) if b not in indexes]
    indexes.update({b: item.value or {} for b, item in zip(shared, gw.get_many([store.index_key(b) for b in shared]))})
    keys = [store.task_key(i) for index in indexes.values() for i in index.get("ids", [])]
    found = {it.key: it for at in range(0, len(keys), KEYS_PER_READ)
             for it in gw.get_many(keys[at:at + KEYS_PER_READ]) if it.exists}
    counts = Counter(users=len(user_ids), relayed=0, purged=0, digests=recreated)
    boards = {}
    for board_id, index in indexes.items():
        items = [found[k] for k in (store.task_key(i) for i in index.get("ids", [])) if k in found]
        items = [it for it in items if store.owned(it, board_id)]
        counts["relayed"] += relay_items(items, SWEEP_GRACE)[0]  # events a crash or the broker stranded
        kept = purge_tombstones(items)
        counts["purged"] += len(items) - len(kept)
        store.reindex(board_id, kept, index)  # rows that missed an update; ids of purged or expired tombstones
        boards[board_id] = (index.get("ids", []), kept)
    # "My tasks" entries rebuilt from the same documents; entries of boards a user left dropped.
    repaired = my_tasks_repair.reconcile(
        boards, {uid: item.value for uid, item in zip(user_ids, first[n:2 * n])}, {it.key: it for it in first[4 * n:]})
    if repaired:
        counts["my_tasks"] = repaired
    return counts


def purge_tombstones(items: list[Item]) -> list[Item]:
    """Delete the tombstones among ``items`` that are past the undo window and whose events are all handled,
    with their history, overdue marker and watchers; returns the documents still stored.

    Each tombstone goes with a delete guarded by the ETag it was read at: an undo that came
    first keeps it (on every store: one guarded single-key delete is atomic on its own).
    """
    gw = gateway()
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=store.UNDO_SECONDS)
    old = [it for it in items if it.value.get("deleted") and store.task_of(it).updated_at <= cutoff
           and not any(isinstance(e, dict) for e in it.value.get("outbox") or [])]
    listed = [store.outbox_key(i) for it in old for i in pending_ids(it)]
    waiting = {it.key for it in (gw.get_many(listed) if listed else []) if it.exists}
    gone = set()
    for item in old:
        if any(store.outbox_key(i) in waiting for i in pending_ids(item)):
            continue  # an event of it is not handled yet
        try:
            gw.delete(item.key, etag=item.etag)
        except Conflict:
            continue  # restored (or changed) since it was read
        task_id = item.key.removeprefix("task:")
        gw.transact([Delete(history_key(task_id)), Delete(overdue.marker_key(task_id)), Delete(watchers_key(task_id))])
        gone.add(item.key)
    return [it for it in items if it.key not in gone]
