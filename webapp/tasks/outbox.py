"""The outbox's publishing side: send a task's stored events, then clear them (ETag-guarded).

``store.py`` writes each change with its events in the task document (``outbox``); ``flush`` is the fast
path right after the change, ``flush_user`` the relay's per-board backstop (``webapp/sweep.py``).
"""

from __future__ import annotations

import logging

from flask import current_app

from ..dapr_gateway import Conflict, GatewayError
from ..events import publish_metadata
from ..metrics import EVENTS_PUBLISHED
from ..sidecar import gateway, retry_on_conflict
from .store import TOMBSTONE_TTL_SECONDS, UNDO_SECONDS, load_items, task_key

log = logging.getLogger(__name__)


def flush(task_id: str) -> int:
    """Publish the task's pending events, then clear them; returns how many went out.

    Raises ``Unavailable`` when the broker (or store) is down: the events stay
    in the document for the next flush. A tombstone stays (for undo) with a
    shorter TTL once its events are out.
    """
    gw = gateway()
    topic = current_app.config["TASK_EVENTS_TOPIC"]
    read = [gw.get(task_key(task_id))]
    pending = (read[0].value or {}).get("outbox", [])
    if not pending:
        return 0
    for event in pending:
        gw.publish(topic, event, publish_metadata(event))
        EVENTS_PUBLISHED.labels(topic).inc()
    published = {e["event_id"] for e in pending}

    def clear() -> None:
        item = read.pop() if read else gw.get(task_key(task_id))  # changed meanwhile: clear the new copy
        if not item.exists:
            return
        remaining = [e for e in item.value.get("outbox", []) if e["event_id"] not in published]
        ttl = None  # a live task's document never expires (every store keeps that without a TTL)
        if item.value.get("deleted"):
            ttl = TOMBSTONE_TTL_SECONDS if remaining else UNDO_SECONDS
        gw.save(item.key, {**item.value, "outbox": remaining}, etag=item.etag, ttl_seconds=ttl)

    try:
        retry_on_conflict(clear, "outbox clear")
    except Conflict:
        pass  # still marked pending: a later flush re-publishes, subscribers de-duplicate
    return len(pending)


def flush_user(user_id: str) -> int:
    """The relay for one board (a user's id: their personal board): publish every pending event of its tasks."""
    sent = 0
    for item in load_items(user_id):
        if item.value.get("outbox"):
            try:
                sent += flush(item.key.removeprefix("task:"))
            except GatewayError as err:
                log.warning("relay: events of %s still pending: %s", item.key, err)
    return sent
