"""Where tasks live in Dapr state.

Layout (keys are prefixed by the sidecar with the app-id):

    task:<id>           the task document; its ETag is the task's version
    tasks-of:<user id>  {"ids": [...]} — the user's index, newest first

Listing is two sidecar calls whatever the page size: the index, then one bulk
read of the user's tasks. Redis transactions do not roll back when one ETag
check fails, so each write is shaped so that a partial failure can only leave a
harmless *dangling id* in the index (skipped when listing), never a task the
index has lost:

* create: task + index (index ETag-guarded) in one transaction; on a conflict
  the whole transaction is retried with a fresh index (rewriting the brand-new
  task is harmless);
* edit / complete / reopen: one ETag-guarded write of the task (index unchanged);
* delete: the ETag-guarded delete of the task first, then the index.
"""

from __future__ import annotations

from flask import current_app

from ..dapr_gateway import Conflict, DaprGateway, Item, NotFound, Upsert
from .model import Task

INDEX_RETRIES = 8


def task_key(task_id: str) -> str:
    return f"task:{task_id}"


def index_key(user_id: str) -> str:
    return f"tasks-of:{user_id}"


def gateway() -> DaprGateway:
    return current_app.extensions["dapr"]


def _task(item: Item, user_id: str) -> Task:
    if not item.exists or item.value.get("owner") != user_id:
        # Someone else's task answers exactly like a missing one.
        raise NotFound(item.key)
    return Task.from_dict(item.value, version=item.etag)


def load(user_id: str, task_id: str) -> Task:
    """The user's task with its version; ``NotFound`` if missing or not theirs."""
    if not task_id or len(task_id) > 64:
        raise NotFound(task_id)
    return _task(gateway().get(task_key(task_id)), user_id)


def load_all(user_id: str) -> list[Task]:
    """Every task of the user: the index, then one bulk read."""
    index = gateway().get(index_key(user_id))
    ids = (index.value or {}).get("ids", [])
    items = gateway().get_many([task_key(i) for i in ids])
    return [Task.from_dict(it.value, version=it.etag) for it in items
            if it.exists and it.value.get("owner") == user_id]


def insert(task: Task) -> Task:
    """Store a new task and add it to its owner's index."""
    gw = gateway()
    for _ in range(INDEX_RETRIES):
        index = gw.get(index_key(task.owner))
        ids = [i for i in (index.value or {}).get("ids", []) if i != task.id]
        try:
            gw.transact([
                Upsert(task_key(task.id), task.to_dict()),
                Upsert(index_key(task.owner), {"ids": [task.id, *ids]}, etag=index.etag),
            ])
        except Conflict:
            continue  # another write to this user's index won; re-read and retry
        return task
    raise Conflict(f"index of {task.owner} kept changing")


def replace(task: Task, expected_version: str | None) -> Task:
    """Write ``task`` if it is still at ``expected_version``; ``Conflict`` otherwise."""
    if not expected_version:
        raise Conflict(f"task {task.id}: no version given")
    gateway().save(task_key(task.id), task.to_dict(), etag=expected_version)
    return task


def remove(task: Task, expected_version: str | None) -> None:
    """Delete ``task`` if it is still at ``expected_version``, then drop it from the index."""
    if not expected_version:
        raise Conflict(f"task {task.id}: no version given")
    gw = gateway()
    gw.delete(task_key(task.id), etag=expected_version)
    for _ in range(INDEX_RETRIES):
        index = gw.get(index_key(task.owner))
        ids = (index.value or {}).get("ids", [])
        if task.id not in ids:
            return
        try:
            gw.save(index_key(task.owner), {"ids": [i for i in ids if i != task.id]}, etag=index.etag)
            return
        except Conflict:
            continue
    # A dangling id is harmless: listing skips ids whose task is gone.


def reread(task: Task) -> Task:
    """The stored task with its new version (writes do not return ETags)."""
    item = gateway().get(task_key(task.id))
    return Task.from_dict(item.value, version=item.etag) if item.exists else task
