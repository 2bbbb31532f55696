"""The periodic sweep, triggered by the `cron` input binding: the outbox backstop and list row repair.

Time-driven work is not the sweep's: an overdue alert is a job at its task's due
time (overdue.py), the daily digest a job per user (digests.py).
A lease per period (``lease:sweep``, leases.py) keeps the other replicas from running it.

The sweep is a backstop, not the main path: events go out with the request
(or through the relay when the broker was down), rows are written in the
change's own transaction. So each run walks only one page of users
(``PAGE_USERS``) from a stored cursor, reading their indexes and documents in
bulk: an empty run costs about 1 + 16 + 2 × 20 calls whatever the number of
users, and the walk comes round to each user every users ÷ ``PAGE_USERS`` runs.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta, timezone

from .. import users_index
from ..dapr_gateway import Conflict, Item, NotFound, Rejected
from ..keys import (GONE_TTL_SECONDS, SWEEP_CURSOR, board_key, digest_next_key, index_key, memberships_key,
                    my_tasks_key, outbox_key, task_key, user_key)
from ..sidecar import gateway
from ..tasks import store
from ..tasks.index import reindex
from ..tasks.outbox import SWEEP_GRACE, pending_ids, relay_items
from ..boards import deletion as board_deletion
from ..boards import model as boards_model
from ..my_tasks import repair as my_tasks_repair
from . import digests, horizon, overdue

log = logging.getLogger(__name__)
PAGE_USERS = 1_000  # users per run: at 100,000 users the walk comes round every 100 runs (8 h 20 min)
USERS_PER_READ = 50  # indexes per bulk read
KEYS_PER_READ = 500  # task documents per bulk read


def run() -> dict[str, int]:
    """One page of the walk: publish stranded outbox events and repair list rows of the next ``PAGE_USERS`` users.

    Each run takes the page after the stored cursor (``sweep-cursor``) and moves
    the cursor on, so a run costs the same few dozen calls at 1,000 users and at
    1,000,000; the walk comes round to each user every users ÷ ``PAGE_USERS``
    periods. One batch's trouble (e.g. a notification another attempt is still
    delivering: "in progress") does not hold up the others; ``Unavailable`` (the sidecar or
    a component is down) stops the run at once, and the cursor stays where it was.
    """
    gw = gateway()
    horizon.ensure()  # the daily job that brings deferred jobs into the scheduler (if it lost it)
    cursor = gw.get(SWEEP_CURSOR).value
    user_ids, next_cursor = users_index.page_after(cursor, PAGE_USERS)
    counts = Counter(users=0, relayed=0, skipped=0)
    for batch in batches(user_ids):
        try:
            counts.update(sweep_batch(batch))
        except (Rejected, Conflict, NotFound) as err:
            log.warning("sweep of %d users skipped (the next round tries again): %s", len(batch), err)
            counts["skipped"] += len(batch)
    gw.save(SWEEP_CURSOR, next_cursor)  # no ETag: the lease makes this the only writer
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
    first = gw.get_many([index_key(u) for u in user_ids] + [memberships_key(u) for u in user_ids]
                        + [digest_next_key(u) for u in user_ids] + [user_key(u) for u in user_ids]
                        + [my_tasks_key(u) for u in user_ids])
    indexes = {uid: item.value or {} for uid, item in zip(user_ids, first)}
    now = datetime.now(timezone.utc)
    ended = [(uid, account.value) for uid, marker, account in zip(user_ids, first[2 * n:3 * n], first[3 * n:4 * n])
             if account.exists and not (account.value or {}).get("deleted") and digests.chain_ended(marker, now)]
    recreated = sum(1 for user_id, record in ended if digests.schedule(user_id, now, record))
    owned = [(uid, b) for uid, item in zip(user_ids, first[n:2 * n]) for b in owned_boards(uid, item.value)[1:]]
    reached = [b for b in dict.fromkeys(b for _, b in owned) if b not in indexes]
    read = gw.get_many([index_key(b) for b in reached] + [board_key(b) for b in reached]) if reached else []
    records = {b: record.value for b, record in zip(reached, read[len(reached):])}
    deleted = [(uid, b) for uid, b in owned if (records.get(b) or {}).get("deleted")]
    indexes.update({b: item.value or {} for b, item in zip(reached, read) if not (records.get(b) or {}).get("deleted")})
    stalled = [b for b in reached
               if boards_model.deletion_stalled(records.get(b), now, board_deletion.STALLED_DELETION_SECONDS)]
    keys = [task_key(i) for index in indexes.values() for i in index.get("ids", [])]
    found = {it.key: it for at in range(0, len(keys), KEYS_PER_READ)
             for it in gw.get_many(keys[at:at + KEYS_PER_READ]) if it.exists}
    counts = Counter(users=len(user_ids), relayed=0, purged=0, digests=recreated)
    boards = {}
    for board_id, index in indexes.items():
        items = [found[k] for k in (task_key(i) for i in index.get("ids", [])) if k in found]
        items = [it for it in items if store.owned(it, board_id)]
        counts["relayed"] += relay_items(items, SWEEP_GRACE)[0]  # events a crash or the broker stranded
        kept = purge_tombstones(items)
        counts["purged"] += len(items) - len(kept)
        reindex(board_id, kept, index)  # rows that missed an update; ids of purged or expired tombstones
        boards[board_id] = (index.get("ids", []), kept)
    # "My tasks" entries rebuilt from the same documents; entries of boards a user left dropped.
    repaired = my_tasks_repair.reconcile(
        boards, {uid: item.value for uid, item in zip(user_ids, first[n:2 * n])}, {it.key: it for it in first[4 * n:]})
    if repaired:
        counts["my_tasks"] = repaired
    # A deletion that stopped half-way (its owner got a 503 and never repeated it): finished, or undone when a
    # task was created on the board meanwhile, so no board stays closing with its tasks out of everyone's reach.
    counts.update(Counter(board_deletion.finish_stalled(b) for b in stalled))
    # An owner's entry of a board whose deletion stopped after marking it deleted: dropped.
    counts.update(Counter("lingering entry" for uid, b in deleted if board_deletion.drop_lingering_entry(uid, b)))
    return counts


def purge_tombstones(items: list[Item]) -> list[Item]:
    """Purge the tombstones among ``items`` that are past the undo window and whose events are all handled,
    with their history, overdue marker, watchers and comments; returns those not purged.

    Each tombstone is first marked ``purging`` with a save guarded by the ETag it was read at (an undo that
    came first keeps it; from then on none can: on every store one guarded single-key write is atomic on its
    own), then its remains are cleared, then the marked document is given its expiry instead of being deleted
    (on Redis an undo that read it before the mark would re-create a deleted key: ``keys.GONE_TTL_SECONDS``);
    a purge that stopped half-way is carried on by the next.
    """
    gw = gateway()
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=store.UNDO_SECONDS)
    old = [it for it in items if it.value.get("deleted") and store.task_of(it).updated_at <= cutoff]
    listed = [outbox_key(i) for it in old for i in pending_ids(it)]
    waiting = {it.key for it in (gw.get_many(listed) if listed else []) if it.exists}
    gone = set()
    for item in old:
        if any(outbox_key(i) in waiting for i in pending_ids(item)):
            continue  # an event of it is not handled yet
        if not item.value.get(store.PURGING):
            try:
                gw.save(item.key, {**item.value, store.PURGING: True}, etag=item.etag)
            except Conflict:
                continue  # restored (or changed) since it was read
        store.clear_remains([item])
        marked = gw.get(item.key)  # kept as a fence that expires, written at its version (it was written first-write)
        if marked.exists:
            try:
                gw.save(item.key, marked.value, etag=marked.etag, ttl_seconds=GONE_TTL_SECONDS)
            except Conflict:
                continue  # no one writes a marked document: the next sweep carries it on
        gone.add(item.key)
    return [it for it in items if it.key not in gone]
