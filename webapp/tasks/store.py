"""Where tasks live in Dapr state, and how their events leave it (the outbox).

Layout (keys are prefixed by the sidecar with the app-id):

    task:<id>           the task document; its ETag is the task's version.
                        ``outbox`` holds events not yet published; a deleted
                        task is a *tombstone* (``deleted: true``) until its
                        last event is out.
    tasks-of:<user id>  the user's index: {"ids": [...], newest first,
                        "rows": {<id>: row}} — a row per task with what
                        the list filters and sorts on (``rows.Summary``,
                        an array); a tombstone's row is {"deleted": true}.

**Change and event are one write.** Every change writes the task document with
its event inside (``outbox``) — a single key, so it is atomic on every state
store. After the write, ``flush`` publishes what is in the outbox and clears it
(ETag-guarded). If the broker is down the events stay in the document and are
published by a later ``flush`` (the relay: the user's next change, or the cron
sweep), so nothing is lost; an event may go out twice, which subscribers
de-duplicate on its id. Deletes are included: the tombstone carries the event.

**Listing** is two sidecar calls whatever the number of tasks: the index
(its rows are filtered, sorted and paged), then one bulk read of the page's
tasks. Searching is the exception: descriptions are not in the rows, so a
search reads every task. Redis transactions do not roll back when one ETag
check fails, so each write is shaped so that a partial failure can only leave
a harmless *dangling id* or a *stale row* in the index, never a task the index
lost:

* create: task + index (index ETag-guarded) in one transaction; on a conflict
  the whole transaction is retried with a fresh index (rewriting the new task
  is harmless);
* edit / complete / reopen / delete: one ETag-guarded write of the task (the
  change itself), then its row in the index (ETag-guarded, retried). A row
  that missed its update only misplaces the task in the list: the page shows
  the task as read, drops it if it no longer matches the filters, and repairs
  the row; the periodic sweep repairs every row.
"""

from __future__ import annotations

import logging
from typing import Iterable

from flask import current_app

from dataclasses import replace as with_items

from ..metrics import EVENTS_PUBLISHED
from ..dapr_gateway import Conflict, GatewayError, Item, NotFound, Upsert
from . import model
from .model import ListQuery, Page, Task
from .rows import TOMBSTONE_ROW, Summary, is_row, known, merged, row_revision
from ..sidecar import gateway

log = logging.getLogger(__name__)
INDEX_RETRIES = 8
TOMBSTONE_TTL_SECONDS = 7 * 86400


def task_key(task_id: str) -> str:
    return f"task:{task_id}"


def index_key(user_id: str) -> str:
    return f"tasks-of:{user_id}"



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


def load_page(user_id: str, query: ListQuery) -> Page:
    """One page of the user's list: the index's rows pick it, then only its tasks are read."""
    if query.q.strip():
        return model.select(load_all(user_id), query)  # descriptions are not in the rows
    index = (gateway().get(index_key(user_id)).value or {})
    rows = index.get("rows") or {}
    summaries = [Summary.from_row(i, row) for i, row in rows.items() if is_row(row)]
    unlisted = [i for i in index.get("ids", []) if not known(rows.get(i))]
    if unlisted:  # indexed before rows existed (or in another layout), or a row went missing
        summaries += [Summary.of(t) for t in _reindex(user_id, unlisted)]
    page = model.select(summaries, query)
    items = gateway().get_many([task_key(s.id) for s in page.items])
    tasks = [Task.from_dict(it.value, version=it.etag) for it in items if _live(it, user_id)]
    stale = [t for t in tasks if is_row(rows.get(t.id)) and t.revision != row_revision(rows[t.id])]
    if stale:
        _merge_rows(user_id, {t.id: Summary.of(t).to_row() for t in stale})
    return with_items(page, items=[t for t in tasks if model.matches(t, query)])


def _reindex(user_id: str, ids: Iterable[str]) -> list[Task]:
    """Rebuild the rows of ``ids`` from their documents; returns the live tasks among them."""
    keys = [task_key(i) for i in ids]
    found = {it.key: it for it in gateway().get_many(keys) if it.exists and it.value.get("owner") == user_id}
    return _merge_from(user_id, keys, found)


def reindex(user_id: str, items: list[Item]) -> None:
    """Bring every row of the user's index in line with ``items`` (all their documents, as read)."""
    index = gateway().get(index_key(user_id)).value or {}
    found = {it.key: it for it in items}
    _merge_from(user_id, [task_key(i) for i in index.get("ids", [])] + list(found), found)


def _merge_from(user_id: str, keys: list[str], found: dict[str, Item]) -> list[Task]:
    rows: dict[str, list | dict | None] = {}
    live = []
    for key in dict.fromkeys(keys):
        item = found.get(key)
        task_id = key.removeprefix("task:")
        if item is None:
            rows[task_id] = None  # gone: a dangling id
        elif item.value.get("deleted"):
            rows[task_id] = TOMBSTONE_ROW
        else:
            task = Task.from_dict(item.value, version=item.etag)
            rows[task_id] = Summary.of(task).to_row()
            live.append(task)
    _merge_rows(user_id, rows)
    return live


def _merge_rows(user_id: str, rows: dict[str, list | dict | None]) -> None:
    """Set rows of the user's index (``None`` drops the id); a row only replaces an older one.

    ETag-guarded and retried; if it still fails the row stays stale until the
    page or the sweep repairs it, which is why this never raises.
    """
    gw = gateway()
    for _ in range(INDEX_RETRIES):
        try:
            index = gw.get(index_key(user_id))
            document = merged(index.value, rows)
            if document is None:
                return
            gw.save(index_key(user_id), document, etag=index.etag)
            return
        except Conflict:
            continue  # another write to this index won: merge into the new one
        except GatewayError as err:
            log.warning("index of %s not updated (the sweep repairs it): %s", user_id, err)
            return
    log.warning("index of %s kept changing; its rows are repaired later", user_id)


def _document(task: Task, events: list[dict], previous: dict | None = None) -> dict:
    """The stored document: the task, plus unpublished events (older ones first)."""
    pending = list((previous or {}).get("outbox", []))
    return {**task.to_dict(), "outbox": pending + events}


def insert(task: Task, events: list[dict]) -> bool:
    """Store a new task with its events and add it (and its row) to its owner's index.

    False when the task was already there: a derived id (the next instance of a
    recurring task) that a concurrent delivery created first. Retrying could not
    succeed anyway: once its outbox has been cleared with an ETag, Dapr's Redis
    store refuses writes without one to that key ("first-write" concurrency).
    """
    gw = gateway()
    document = _document(task, events)
    for attempt in range(INDEX_RETRIES):
        index = gw.get(index_key(task.owner))
        ids = [i for i in (index.value or {}).get("ids", []) if i != task.id]
        if attempt and len(ids) < len((index.value or {}).get("ids", [])) and gw.get(task_key(task.id)).exists:
            return False  # listed and stored: someone else created this very task meanwhile
        rows = {**((index.value or {}).get("rows") or {}), task.id: Summary.of(task).to_row()}
        try:
            gw.transact([
                Upsert(task_key(task.id), document),
                Upsert(index_key(task.owner), {"ids": [task.id, *ids], "rows": rows}, etag=index.etag),
            ])
        except Conflict:
            continue  # another write to this user's index won; re-read and retry
        return True
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
    _merge_rows(task.owner, {task.id: Summary.of(task).to_row()})
    return task


def bury(previous: tuple[Task, dict], expected_version: str | None, events: list[dict]) -> None:
    """Delete a task at ``expected_version``: a tombstone that carries the deletion event."""
    _check_version(previous[0], expected_version)
    tombstone = {**_document(previous[0], events, previous[1]), "deleted": True}
    gateway().save(task_key(previous[0].id), tombstone, etag=expected_version, ttl_seconds=TOMBSTONE_TTL_SECONDS)
    _merge_rows(previous[0].owner, {previous[0].id: TOMBSTONE_ROW})


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
    _merge_rows(item.value["owner"], {item.key.removeprefix("task:"): None})
    return True


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
