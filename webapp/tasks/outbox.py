"""The outbox's publishing side: the fast path right after a change, and the relay for what it missed.

``store.py`` writes each change with its events (``outbox:<event id>`` items, listed by the task's document) in
one transaction. ``publish`` sends them right after (the request's fast path); nothing is written back: the
task-events handler deletes an event's item once it has handled it. ``relay_items`` is the backstop for events the
fast path could not send (the broker was down, the process died before the publish): for documents as read it
publishes the listed events whose items are still there, then deletes those items. ``flush_board`` runs it over
one board (the relay of boards marked pending, ``background/relay.py``); the sweep runs it over every board in turn,
leaving alone events younger than ``SWEEP_GRACE`` (their fast path or handler may still be under way).
``publish_later`` covers the one gap the relay cannot see: a sidecar that died between a change's transaction and its
publish also refuses the write that marks the board for the relay, so the process that acknowledged the change keeps
the events and publishes them itself once the sidecar answers again (if that process dies too, the sweep's walk
still finds them).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from flask import current_app

from ..dapr_gateway import Delete, GatewayError, Item
from ..events import publish_metadata
from ..held import Held
from ..keys import index_key, outbox_key, task_key
from ..metrics import EVENTS_PUBLISHED
from ..sidecar import gateway
from .index import reindex
from .relay_marks import mark_pending
from .store import owned

log = logging.getLogger(__name__)
SWEEP_GRACE = timedelta(seconds=60)
KEYS_PER_READ = 500


def publish(events: list[dict]) -> None:
    """Send events just stored with their change; ``Unavailable`` when the broker (or sidecar) is down."""
    gw = gateway()
    topic = current_app.config["TASK_EVENTS_TOPIC"]
    for event in events:
        gw.publish(topic, event, publish_metadata(event))
        EVENTS_PUBLISHED.labels(topic).inc()


def publish_later(events: list[dict], boards: list[str] | tuple[str, ...] = ()) -> None:
    """Hold events whose publish and relay mark both failed, and ``boards`` to mark for the relay (their rows
    missed their writes); a thread of this process does both once the sidecar answers again."""
    _HELD.hold(current_app._get_current_object(),
               {**{e["event_id"]: e for e in events}, **{f"mark {b}": b for b in boards}})


def _publish_held(items: list) -> None:
    """Publish the held events, then mark the held boards (subscribers de-duplicate an event that went out
    twice; a second mark costs the relay one more pass)."""
    publish([item for item in items if isinstance(item, dict)])
    for board_id in (item for item in items if isinstance(item, str)):
        mark_pending(board_id)


_HELD = Held("outbox-held", _publish_held)


def pending_ids(item: Item) -> list[str]:
    """The ids of the events a document lists as not known to be handled."""
    return list((item.value or {}).get("outbox") or [])


def relay_items(items: list[Item], grace: timedelta = timedelta(0)) -> tuple[int, int]:
    """Publish the pending events of these documents (as read) older than ``grace``; returns (sent, left).

    One bulk read finds which listed events still have their outbox item (not handled yet);
    each is published, and the published ones' items are deleted in one transaction (so an
    event the handler keeps failing on goes to its dead-letter topic once, not every round).
    """
    gw = gateway()
    sent = left = 0
    keys = [outbox_key(i) for item in items for i in pending_ids(item)]
    now = datetime.now(timezone.utc)
    for at in range(0, len(keys), KEYS_PER_READ):
        found = [it for it in gw.get_many(keys[at:at + KEYS_PER_READ]) if it.exists]
        due = [it for it in found if _stored_at(it.value) <= now - grace]
        left += len(found) - len(due)
        try:
            publish([it.value for it in due])
        except GatewayError as err:
            log.warning("relay: %d events still pending: %s", len(due), err)
            return sent, left + len(due)
        if due:
            gw.transact([Delete(it.key) for it in due])
        sent += len(due)
    return sent, left


def _stored_at(event: dict) -> datetime:
    try:
        return datetime.fromisoformat(event.get("timestamp") or "")
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def flush_board(board_id: str) -> tuple[int, int]:
    """The relay for one board: its pending events published, its rows repaired from the documents;
    (events sent, events still pending)."""
    gw = gateway()
    index = gw.get(index_key(board_id))
    ids = (index.value or {}).get("ids", [])
    items = [it for it in gw.get_many([task_key(i) for i in ids]) if owned(it, board_id)]
    sent, left = relay_items(items)
    reindex(board_id, items, index.value or {})
    return sent, left
