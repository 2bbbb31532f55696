"""The jobs horizon: the scheduler stores only the per-task jobs due within ``WINDOW``; later ones wait in state.

A reminder or overdue job due further ahead than ``WINDOW`` is not scheduled:
``task_jobs.place`` notes it in a day bucket instead,

    jobs-later:<YYYY-MM-DD>:<00..ff>   {"items": [{"id": <job name>, "kind", "user_id", "task_id", "board_id"}, …]}

keyed by the day its job enters the scheduler (``bucket_day``) and a
shard of the job name. One job, ``jobs-horizon``, fires daily at 00:05 UTC:
it takes every bucket from the day after the last one it finished
(``jobs-horizon:done``) to today and syncs each noted task again, which
schedules its job (now inside the window), defers it again (moved further
out) or drops it (done, deleted, moved near: already scheduled). A bucket entry
is only a hint; the task decides. So the scheduler holds at most: one digest
per user, the per-task jobs due within ``WINDOW`` (7 days), and this one job.
The sweep (sweep.py) re-creates ``jobs-horizon`` if the scheduler lost it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from .. import state_lists
from ..keys import HORIZON_BUCKET_SHARDS, HORIZON_DONE, horizon_bucket_key, horizon_bucket_keys
from ..sidecar import gateway

log = logging.getLogger(__name__)
WINDOW = timedelta(days=7)
JOB_NAME = "jobs-horizon"
FIRES_AT = time(0, 5)  # UTC
SHARD_LIMIT = 10_000  # entries per bucket shard (~150 bytes each): 2,560,000 deferred jobs a day
SHARDS_PER_READ = 64
FIRST_LOOK_BACK = timedelta(days=14)  # with no day done yet, buckets this old are still taken


class BucketFull(Exception):
    """A bucket shard holds ``SHARD_LIMIT`` entries: the job is scheduled at once instead."""


def beyond(due: datetime, now: datetime) -> bool:
    """Whether a job due at ``due`` waits outside the scheduler."""
    return due > now + WINDOW


def bucket_day(due: datetime) -> date:
    """The day whose horizon run schedules a job due at ``due``: the day after ``due`` − ``WINDOW``.

    From 00:00 of that day the job is due within ``WINDOW`` (so the run never
    defers it again), and at least ``WINDOW`` − 1 day ahead; a job deferred
    now always lands in a bucket of a day still to come.
    """
    return (due - WINDOW).astimezone(timezone.utc).date() + timedelta(days=1)


def defer(job_name: str, due: datetime, data: dict) -> None:
    """Note the task behind ``job_name`` in the bucket of the day its job enters the scheduler."""
    entry = {"id": job_name, "kind": data["kind"], "user_id": data["user_id"], "task_id": data["task_id"],
             "board_id": data.get("board_id") or data["user_id"]}

    def added(items: list[dict]) -> list[dict] | None:
        if any(i["id"] == job_name for i in items):
            return None
        if len(items) >= SHARD_LIMIT:
            raise BucketFull(horizon_bucket_key(bucket_day(due), job_name))
        return [entry, *items]

    state_lists.update(horizon_bucket_key(bucket_day(due), job_name), added)


def next_firing(after: datetime) -> datetime:
    """The first 00:05 UTC strictly after ``after``."""
    candidate = datetime.combine(after.astimezone(timezone.utc).date(), FIRES_AT, tzinfo=timezone.utc)
    return candidate if candidate > after else candidate + timedelta(days=1)


def schedule(now: datetime | None = None) -> datetime:
    """(Re)schedule the horizon job at its next firing."""
    due = next_firing(now or datetime.now(timezone.utc))
    gateway().schedule_job(JOB_NAME, due, {"kind": "horizon", "at": due.isoformat()})
    return due


def ensure() -> bool:
    """Schedule the horizon job if the scheduler has none (one call when it has); True if it was missing."""
    if gateway().get_job(JOB_NAME) is not None:
        return False
    schedule()
    return True


Resync = Callable[[dict], None]  # syncs the job of one bucket entry again from its task (the registry, __init__.py)


def fire(data: dict, resync: Resync) -> str:
    """The horizon job fired: sync the tasks of every bucket day not done yet, up to today; schedule the next."""
    now = datetime.now(timezone.utc)
    done = (gateway().get(HORIZON_DONE).value or {}).get("day")
    day = date.fromisoformat(done) + timedelta(days=1) if done else (now - FIRST_LOOK_BACK).date()
    synced = 0
    while day <= now.date():
        synced += sync_day(day, resync)
        gateway().save(HORIZON_DONE, {"day": day.isoformat()})
        day += timedelta(days=1)
    schedule(now)
    log.info("jobs horizon: %d deferred jobs synced up to %s", synced, now.date())
    return f"synced {synced}"


def sync_day(day: date, resync: Resync) -> int:
    """``resync`` every entry of ``day``'s buckets, then drop those buckets; returns how many were synced."""
    keys = horizon_bucket_keys(day)
    synced = 0
    for at in range(0, HORIZON_BUCKET_SHARDS, SHARDS_PER_READ):
        for item in gateway().get_many(keys[at:at + SHARDS_PER_READ]):
            if not item.exists:
                continue
            for entry in item.value.get("items", []):
                resync(entry)
                synced += 1
            gateway().delete(item.key, etag=item.etag)  # noted again meanwhile: Conflict, the job retries
    return synced
