"""The limit scenarios' sequences: what a create asks of daprd, over its HTTP API, without Flask.

* ``create5_sequence``: the create before issue 17 (5 calls): GET index; POST transaction (task with its event in
  ``outbox`` + ETag-guarded index); GET task; POST publish; POST state (outbox emptied, ETag).
* ``create3_sequence``: the create after issue 17 (3 calls): GET index; POST transaction (task whose ``outbox``
  lists the pending event ids + ETag-guarded index + ``outbox:<event id>`` with a 30-day TTL); POST publish.
* ``limit_sequence``: the least a create needs (1 call): one transaction with the task, its index entry (the whole
  index as the benchmark last wrote it, no read, no ETag) and its outbox entry.
"""

from __future__ import annotations

import json

import variants


async def _read_index(http, sc: str, h: dict, user: str) -> tuple[dict | None, str | None]:
    async with http.get(f"{sc}/state/statestore/tasks-of:{user}", headers=h) as resp:
        body = await resp.read()
        return json.loads(body or b"null"), resp.headers.get("ETag")


async def _transaction(http, sc: str, h: dict, operations: list[dict]) -> str | None:
    """None when committed, "conflict" on an ETag mismatch, else the error."""
    async with http.post(f"{sc}/state/statestore/transaction", json={"operations": operations}, headers=h) as resp:
        text = await resp.text()
        if resp.status in (200, 204):
            return None
        return "conflict" if "failed to set key" in text else f"transaction HTTP {resp.status}"


async def _publish(http, sc: str, h: dict, event: dict) -> str | None:
    params = {f"metadata.{k}": v for k, v in variants.publish_metadata(event).items()}
    async with http.post(f"{sc}/publish/pubsub/task-events", json=event, params=params, headers=h) as resp:
        await resp.read()
        return None if resp.status in (200, 204) else f"publish HTTP {resp.status}"


def _upsert(key: str, value, etag: str | None = None, metadata: dict | None = None) -> dict:
    request = {"key": key, "value": value}
    if etag:
        request["etag"] = etag
    if metadata:
        request["metadata"] = metadata
    return {"operation": "upsert", "request": request}


def _create3_upserts(task: dict, event: dict) -> list[dict]:
    return [_upsert(k, v, metadata=m) for k, v, m in variants.create3_items(task, event)]


async def _indexed_transaction(http, sc: str, h: dict, user: str, task: dict, others: list[dict]) -> str | None:
    """Read the index, then commit ``others`` + the index with the task's row (ETag-guarded), retried."""
    for _ in range(variants.INDEX_RETRIES):
        index, etag = await _read_index(http, sc, h, user)
        err = await _transaction(http, sc, h, [*others, _upsert(f"tasks-of:{user}", variants.indexed(index, task),
                                                                 etag)])
        if err != "conflict":
            return err
    return "index conflict"


async def create5_sequence(http, sc: str, h: dict, user: str) -> str | None:
    """The create before issue 17: 5 sidecar calls."""
    task = variants.new_task(user)
    event = variants.task_event(task, "1")
    tkey = f"task:{task['id']}"
    err = await _indexed_transaction(http, sc, h, user, task, [_upsert(tkey, variants.with_outbox(task, [event]))])
    if err:
        return err
    # the flush: read the task, publish its outbox, save it emptied (ETag-guarded)
    async with http.get(f"{sc}/state/statestore/{tkey}", headers=h) as resp:
        document = json.loads(await resp.read())
        etag = resp.headers.get("ETag")
    for pending in document["outbox"]:
        if err := await _publish(http, sc, h, pending):
            return err
    save = [{"key": tkey, "value": {**document, "outbox": []}, "etag": etag,
             "options": {"concurrency": "first-write", "consistency": "strong"}}]
    async with http.post(f"{sc}/state/statestore", json=save, headers=h) as resp:
        await resp.read()
        return None if resp.status in (200, 204) else f"save HTTP {resp.status}"


async def create3_sequence(http, sc: str, h: dict, user: str) -> str | None:
    """The create after issue 17: 3 sidecar calls (the event handler deletes ``outbox:<event id>`` later)."""
    task = variants.new_task(user)
    event = variants.task_event(task, "1")
    err = await _indexed_transaction(http, sc, h, user, task, _create3_upserts(task, event))
    return err or await _publish(http, sc, h, event)


# The limit users' indexes as the benchmark last wrote them: it is their only writer, so it need not read them.
_limit_indexes: dict[str, dict] = {}


async def limit_sequence(http, sc: str, h: dict, user: str) -> str | None:
    """The least a create needs: ONE transaction (task, its index entry, its outbox entry).

    The index is the whole ``tasks-of`` value, as large as a real one (it grows by a row per create), kept in
    memory here and upserted without reading it or its ETag.
    """
    task = variants.new_task(user)
    event = variants.task_event(task, "1")
    _limit_indexes[user] = index = variants.indexed(_limit_indexes.get(user), task)
    return await _transaction(http, sc, h, [*_create3_upserts(task, event), _upsert(f"tasks-of:{user}", index)])
