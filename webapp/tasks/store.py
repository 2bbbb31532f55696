"""Where tasks live in Dapr state, and how their events leave it (the outbox).

Layout (keys are prefixed by the sidecar with the app-id):

    task:<id>           the task document; its ETag is the task's version.
                        ``outbox`` holds events not yet published; a deleted
                        task is a *tombstone* (``deleted: true``) until its
                        last event is out.
    tasks-of:<user id>  {"ids": [...]} — the user's index, newest first

**Change and event are one write.** Every change writes the task document with
its event inside (``outbox``) — a single key, so it is atomic on every state
store. After the write, ``flush`` publishes what is in the outbox and clears it
(ETag-guarded). If the broker is down the events stay in the document and are
published by a later ``flush`` (the relay: the user's next change, or the cron
sweep), so nothing is lost; an event may go out twice, which subscribers
de-duplicate on its id. Deletes are included: the tombstone carries the event.

**Listing** is two sidecar calls whatever the page size: the index, then one
bulk read. Redis transactions do not roll back when one ETag check fails, so
each write is shaped so that a partial failure can only leave a harmless
*dangling id* in the index (skipped when listing), never a task the index lost:

* create: task + index (index ETag-guarded) in one transaction; on a conflict
  the whole transaction is retried with a fresh index (rewriting the new task
  is harmless);
* edit / complete / reopen / delete: one ETag-guarded write of the task; the
  index changes only when a tombstone is finally removed.
"""

from __future__ import annotations

import logging

from flask import current_app

from ..metrics import EVENTS_PUBLISHED
from ..dapr_gateway import Conflict, DaprGateway, GatewayError, Item, NotFound, Upsert
from .model import Task

log = logging.getLogger(__name__)
INDEX_RETRIES = 8
TOMBSTONE_TTL_SECONDS = 7 * 86400


def task_key(task_id: str) -> str:
    return f"task:{task_id}"


def index_key(user_id: str) -> str:
    return f"tasks-of:{user_id}"


def gateway() -> DaprGateway:
    return current_app.extensions["dapr"]


def _live(item: Item, user_id: str) -> bool:
    return item.exists and item.value.get("owner") == user_id and not item.value.get("deleted")


def load(user_id: str, task_id: str) -> Task:
    """The user's task with its version; ``NotFound`` if missing, deleted or not theirs."""
    return load_document(user_id, task_id)[0]


def load_document(user_id: str, task_id: str) -> tuple[Task, dict]:
    """The user's task and its stored document (to change it); ``NotFound`` as ``load``."""
    if not task_id or len(task_id) > 64:
        raise NotFound(task_id)
    item = gateway().get(task_key(task_id))
    if not _live(item, user_id):
        # Someone else's task answers exactly like a missing one.
        raise NotFound(item.key)
    return Task.from_dict(item.value, version=item.etag), item.value


def _index_ids(user_id: str) -> list[str]:
    return (gateway().get(index_key(user_id)).value or {}).get("ids", [])


def load_items(user_id: str) -> list[Item]:
    """Every stored document of the user (tombstones included): the index, then one bulk read."""
    items = gateway().get_many([task_key(i) for i in _index_ids(user_id)])
    return [it for it in items if it.exists and it.value.get("owner") == user_id]


def load_all(user_id: str) -> list[Task]:
    """Every live task of the user."""
    return [Task.from_dict(it.value, version=it.etag) for it in load_items(user_id)
            if not it.value.get("deleted")]


def _document(task: Task, events: list[dict], previous: dict | None = None) -> dict:
    """The stored document: the task, plus unpublished events (older ones first)."""
    pending = list((previous or {}).get("outbox", []))
    return {**task.to_dict(), "outbox": pending + events}


def insert(task: Task, events: list[dict]) -> Task:
    """Store a new task with its events and add it to its owner's index."""
    gw = gateway()
    document = _document(task, events)
    for _ in range(INDEX_RETRIES):
        index = gw.get(index_key(task.owner))
        ids = [i for i in (index.value or {}).get("ids", []) if i != task.id]
        try:
            gw.transact([
                Upsert(task_key(task.id), document),
                Upsert(index_key(task.owner), {"ids": [task.id, *ids]}, etag=index.etag),
            ])
        except Conflict:
            continue  # another write to this user's index won; re-read and retry
        return task
    raise Conflict(f"index of {task.owner} kept changing")


def _check_version(previous: Task, expected_version: str | None) -> None:
    if not expected_version or previous.version != expected_version:
        raise Conflict(f"task {previous.id} is at version {previous.version}, not {expected_version}")


def replace(task: Task, previous: tuple[Task, dict], expected_version: str | None, events: list[dict]) -> Task:
    """Write ``task`` and its events over ``previous`` if that is still ``expected_version``.

    ``Conflict`` when the caller read another version, or someone wrote in between.
    """
    _check_version(previous[0], expected_version)
    gateway().save(task_key(task.id), _document(task, events, previous[1]), etag=expected_version)
    return task


def bury(previous: tuple[Task, dict], expected_version: str | None, events: list[dict]) -> None:
    """Delete a task at ``expected_version``: a tombstone that carries the deletion event."""
    _check_version(previous[0], expected_version)
    tombstone = {**_document(previous[0], events, previous[1]), "deleted": True}
    gateway().save(task_key(previous[0].id), tombstone, etag=expected_version, ttl_seconds=TOMBSTONE_TTL_SECONDS)


def flush(task_id: str) -> int:
    """Publish the task's pending events, then clear them; returns how many went out.

    Raises ``Unavailable`` when the broker (or store) is down: the events stay
    in the document for the next flush.
    """
    gw = gateway()
    topic = current_app.config["TASK_EVENTS_TOPIC"]
    item = gw.get(task_key(task_id))
    pending = (item.value or {}).get("outbox", [])
    if not pending:
        return 0
    from ..events import publish_metadata
    for event in pending:
        gw.publish(topic, event, publish_metadata(event))
        EVENTS_PUBLISHED.labels(topic).inc()
    published = {e["event_id"] for e in pending}
    for _ in range(INDEX_RETRIES):
        if item.value.get("deleted"):
            if _remove_tombstone(item):
                return len(pending)
        else:
            remaining = [e for e in item.value.get("outbox", []) if e["event_id"] not in published]
            try:
                gw.save(item.key, {**item.value, "outbox": remaining}, etag=item.etag)
                return len(pending)
            except Conflict:
                pass
        item = gw.get(task_key(task_id))  # changed meanwhile: clear what we published from the new copy
        if not item.exists:
            return len(pending)
    return len(pending)  # still marked pending: a later flush re-publishes, subscribers de-duplicate


def _remove_tombstone(item: Item) -> bool:
    """Delete a fully published tombstone and drop it from the owner's index."""
    gw = gateway()
    try:
        gw.delete(item.key, etag=item.etag)
    except Conflict:
        return False
    owner = item.value["owner"]
    task_id = item.key.removeprefix("task:")
    for _ in range(INDEX_RETRIES):
        index = gw.get(index_key(owner))
        ids = (index.value or {}).get("ids", [])
        if task_id not in ids:
            return True
        try:
            gw.save(index_key(owner), {"ids": [i for i in ids if i != task_id]}, etag=index.etag)
            return True
        except Conflict:
            continue
    return True  # a dangling id is harmless: listing skips ids whose task is gone


def flush_user(user_id: str) -> int:
    """The relay for one user: publish every pending event of their tasks (and tombstones)."""
    sent = 0
    for item in load_items(user_id):
        if item.value.get("outbox"):
            try:
                sent += flush(item.key.removeprefix("task:"))
            except GatewayError as err:
                log.warning("relay: events of %s still pending: %s", item.key, err)
    return sent


def reread(task: Task) -> Task:
    """The stored task with its current version (writes do not return ETags)."""
    item = gateway().get(task_key(task.id))
    return Task.from_dict(item.value, version=item.etag) if item.exists else task
