"""Background work: everything the web app does without a browser's request, listed here once.

The inbound routes (routes.py), the subscriptions (``/dapr/subscribe``), the job dispatch (``/job/<name>``),
the reconciliation of jobs and the leases of periodic work are all derived from these four lists:

    STREAMS    pub/sub topics this app handles: ``/events/<stream>`` and its subscription (with a dead-letter topic)
    TASK_JOBS  per-task job kinds: one job per task, synced on every task event, deferred beyond the horizon,
               reconciled per board; a module with KIND, FIELDS, job_name, wanted, sync_with and fire
    JOB_KINDS  every job kind (``data["kind"]`` of a fired job): what runs and the fields it requires
    PERIODIC   input bindings (``POST /<binding>``), each run under a lease, once per period across replicas

A new per-task job kind is one module and one line in TASK_JOBS; a new periodic binding one module, one line in
PERIODIC and its component YAML (components/, deploy/dapr/).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Iterable

from flask import current_app

from ..tasks.model import Task
from . import digests, horizon, leases, overdue, probe, reconcile, relay, reminders, sweep, task_events, task_updates
from .checks import Malformed, require


@dataclass(frozen=True)
class Stream:
    """A pub/sub topic (its name from the config setting ``topic_setting``) and its handler."""
    topic_setting: str
    handle: Callable[[dict], None]


@dataclass(frozen=True)
class JobKind:
    """What a fired job of one kind runs (given the job's name and data) and the fields its data must carry."""
    run: Callable[[str, dict], str]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Periodic:
    """An input binding's work, run only by the replica that wins the lease ``lease`` (held ``lease_seconds``,
    under the binding's period)."""
    lease: str
    lease_seconds: int
    work: Callable[[], dict[str, int]]


def _by_data(fire: Callable[[dict], str]) -> Callable[[str, dict], str]:
    return lambda name, data: fire(data)


TASK_JOBS: tuple[ModuleType, ...] = (reminders, overdue)

STREAMS = {
    "task-events": Stream("TASK_EVENTS_TOPIC", lambda data: task_events.on_task_event(data, sync_task_jobs,
                                                                                      task_job_fields())),
    "task-updates": Stream("TASK_UPDATES_TOPIC", task_updates.on_task_update),
}

JOB_KINDS = {
    **{kind.KIND: JobKind(_by_data(kind.fire), ("task_id", "user_id")) for kind in TASK_JOBS},
    "digest": JobKind(_by_data(digests.fire), ("user_id",)),
    "horizon": JobKind(lambda name, data: horizon.fire(data, resync_deferred)),
    "probe": JobKind(probe.fire),  # proves the scheduler → sidecar → /job/<name> path (readiness, tests)
}

PERIODIC = {
    "cron": Periodic("sweep", 270, sweep.run),  # every 5 min: the outbox backstop, row repair, lost digest chains
    "relay": Periodic("relay", 8, relay.run),  # every 10 s: outboxes a request could not publish
}

DEAD_LETTERS_ROUTE = "/events/dead-letters"


def subscriptions() -> list[dict]:
    """What this app subscribes to (``/dapr/subscribe``): each stream with its dead-letter topic, and the
    dead-letter topics themselves (kept for the operator page); the topic names come from config."""
    cfg = current_app.config
    topics = {stream: cfg[s.topic_setting] for stream, s in STREAMS.items()}
    return [
        *({"pubsubname": cfg["PUBSUB"], "topic": topic, "route": f"/events/{stream}",
           "deadLetterTopic": f"{topic}-deadletter"} for stream, topic in topics.items()),
        *({"pubsubname": cfg["PUBSUB"], "topic": f"{topic}-deadletter", "route": DEAD_LETTERS_ROUTE}
          for topic in topics.values()),
    ]


def task_job_fields() -> set[str]:
    """The task fields some per-task job follows."""
    return {field for kind in TASK_JOBS for field in kind.FIELDS}


def sync_task_jobs(user_id: str, task_id: str, task: Task | None, created: bool = False) -> None:
    """Bring every per-task job of ``task_id`` in line with ``task`` as just read (None: gone) (``GatewayError``)."""
    for kind in TASK_JOBS:
        kind.sync_with(user_id, task_id, task, created=created)


def resync_deferred(entry: dict) -> None:
    """Sync the job of a horizon bucket entry from its task as it is now (``GatewayError``)."""
    reconcile.resync_deferred(entry, {kind.KIND: kind for kind in TASK_JOBS})


def run_job(name: str, data: dict) -> str:
    """Run a fired job by its kind; returns what happened (``Malformed``, ``GatewayError``)."""
    kind = JOB_KINDS.get(data.get("kind")) if isinstance(data.get("kind"), str) else None
    if kind is None:
        raise Malformed(f"unknown job kind {data.get('kind')!r}")
    require(data, *kind.requires)
    return kind.run(name, data)


def run_periodic(binding: str) -> dict[str, int]:
    """Run the binding's work if this replica wins its lease (``KeyError`` for no such binding, ``GatewayError``)."""
    periodic = PERIODIC[binding]
    return leases.leased(periodic.lease, periodic.lease_seconds, periodic.work)


def lease_seconds() -> dict[str, int]:
    """Each lease's name and how long it is held."""
    return {p.lease: p.lease_seconds for p in PERIODIC.values()}


def reconcile_jobs(user_ids: Iterable[str]) -> dict[str, int]:
    """Re-create the jobs missing from the scheduler for ``user_ids`` from state (``GatewayError``)."""
    return reconcile.reconcile(user_ids, TASK_JOBS)
