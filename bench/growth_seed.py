"""Seeding for the growth benchmark: users with 5 tasks each, written straight through daprd's HTTP state API.

The values are built with the app's own modules (``webapp.tasks.model``, ``rows``,
``users_index``), so the layouts are the app's: ``user:<id>``, the
``username:<lower name>`` claim, ``tasks-of:<id>`` ({"ids", "rows"}), ``task:<id>``
documents with an empty outbox, and the ``users-index:<2 hex>`` shards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone

import aiohttp
from werkzeug.security import generate_password_hash

from common import say
from webapp import users_index
from webapp.keys import users_index_shard_key
from webapp.tasks.model import TaskFields, new_task
from webapp.tasks.rows import Summary

TASKS_PER_USER = 5
USERS_PER_POST = 100  # 8 items per user: 800 items per bulk save (well under daprd's 4 MB request limit)
CONCURRENCY = 4
SEED_PASSWORD = "growth benchmark password"
_HASH = generate_password_hash(SEED_PASSWORD)  # one hash for every seeded user (hashing 100,000 takes hours)


def seeded_name(n: int) -> str:
    return f"grow{n:06d}"


def user_items(n: int, now: datetime) -> tuple[str, list[dict]]:
    """User number ``n``: its id and every state item of it (account, claim, task index, tasks)."""
    uid = uuid.uuid4().hex
    name = seeded_name(n)
    items = [
        {"key": f"user:{uid}", "value": {"id": uid, "username": name, "timezone": "UTC",
                                         "password_hash": _HASH, "created_at": now.isoformat()}},
        {"key": f"username:{name.lower()}", "value": {"user_id": uid}},
    ]
    ids, rows = [], {}
    for k in range(TASKS_PER_USER):
        task = new_task(uid, TaskFields(title=f"Seeded task {k}"), now - timedelta(seconds=TASKS_PER_USER - k))
        items.append({"key": f"task:{task.id}", "value": {**task.to_dict(), "outbox": []}})
        ids.insert(0, task.id)  # newest first, as store.insert keeps them
        rows[task.id] = Summary.of(task).to_row()
    items.append({"key": f"tasks-of:{uid}", "value": {"ids": ids, "rows": rows}})
    return uid, items


async def _post(http: aiohttp.ClientSession, url: str, headers: dict, body) -> None:
    status, text = 0, ""
    for attempt in range(5):
        try:
            async with http.post(url, json=body, headers=headers) as resp:
                if resp.status in (200, 204):
                    return
                status, text = resp.status, await resp.text()
        except aiohttp.ClientConnectionError as err:  # daprd closed a kept-alive connection: send again
            status, text = 0, repr(err)
        say(f"  bulk save answered {status} {text[:200]}; retrying")
        await asyncio.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"bulk save failed: HTTP {status}: {text[:300]}")


async def seed_users(sidecar: str, headers: dict, first: int, count: int) -> list[str]:
    """Users ``first`` .. ``first + count - 1`` with their tasks; returns their ids (shards not yet written)."""
    url = f"{sidecar}/state/statestore"
    now = datetime.now(timezone.utc) - timedelta(days=1)
    ids: list[str] = []
    queue: asyncio.Queue = asyncio.Queue(maxsize=CONCURRENCY * 2)
    done = 0
    step = max(1, count // 10)
    start = time.monotonic()

    async def worker(http):
        nonlocal done
        while (batch := await queue.get()) is not None:
            await _post(http, url, headers, batch[1])
            done += batch[0]
            if done // step != (done - batch[0]) // step or done == count:
                rate = done / max(1e-6, time.monotonic() - start)
                say(f"  seeded {done:,}/{count:,} users ({100 * done // count}%, {rate:,.0f} users/s)")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:
        workers = [asyncio.create_task(worker(http)) for _ in range(CONCURRENCY)]
        for lo in range(first, first + count, USERS_PER_POST):
            batch = []
            for n in range(lo, min(first + count, lo + USERS_PER_POST)):
                uid, items = user_items(n, now)
                ids.append(uid)
                batch += items
            await queue.put((len(batch) // (TASKS_PER_USER + 3), batch))
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    return ids


async def add_to_shards(sidecar: str, headers: dict, user_ids: list[str]) -> None:
    """Add ids to their ``users-index:<xx>`` shards (read, merge, write; the app is idle meanwhile)."""
    by_shard: dict[str, list[str]] = {}
    for uid in user_ids:
        by_shard.setdefault(users_index_shard_key(uid), []).append(uid)
    async with aiohttp.ClientSession() as http:
        for keys in users_index.shard_pages(32):
            async with http.post(f"{sidecar}/state/statestore/bulk", headers=headers,
                                 json={"keys": keys, "parallelism": 16}) as resp:
                found = {it["key"]: it for it in await resp.json()}
            body = []
            for key in keys:
                new = [{"id": u} for u in reversed(by_shard.get(key, []))]
                if new:  # the app writes shards with ETags (first-write): so must this, over what it read
                    old = found.get(key) or {}
                    item = {"key": key, "value": {"items": new + (old.get("data") or {}).get("items", [])},
                            "options": {"concurrency": "first-write"}}
                    if old.get("etag"):
                        item["etag"] = old["etag"]
                    body.append(item)
            if body:
                await _post(http, f"{sidecar}/state/statestore", headers, body)
    say(f"  users index: {len(user_ids):,} ids added to {len(by_shard)} shards")
