"""What is stored and delivered, read straight from the stack after the workload: the state store's keys
and TTLs (redis-cli or psql, as the stack's ``ttl_of`` does), values through a gateway to the sidecar, and
the files of the delivery binding. Also the settle step: wait until the events are handled."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone

import devstack_data

from webapp.boards.deletion import STALLED_DELETION_SECONDS
from webapp.boards.model import deletion_stalled

APP = "taskboard"


def scan(stack, prefix: str) -> list[str]:
    """The keys of the taskboard app that start with ``prefix``, without the app-id prefix."""
    stored = f"{APP}||{prefix}"
    if stack.stack_name == "redis":
        out = subprocess.run(["redis-cli", "-p", str(stack.ports.redis), "--scan", "--pattern", stored + "*"],
                             capture_output=True, text=True, check=True).stdout
    else:
        out = devstack_data.psql(stack.postgres_bin, stack.ports.postgres,
                                 f"SELECT key FROM {devstack_data.TABLE_PREFIX}state WHERE key LIKE '{stored}%' "
                                 "AND (expires_at IS NULL OR expires_at > now())")
    return sorted(line.split("||", 1)[1] for line in out.splitlines() if "||" in line)


def values(gateway, keys: list[str]) -> dict[str, object]:
    """The stored value of each key that exists (in bulk reads of at most 100 keys)."""
    found = {}
    for start in range(0, len(keys), 100):
        for item in gateway.get_many(keys[start:start + 100]):
            if item.exists:
                found[item.key] = item.value
    return found


def deliveries(stack) -> list[dict]:
    """Every notification the delivery binding wrote (one file per delivery)."""
    out = []
    for path in sorted((stack.run_dir / "deliveries").glob("*.json")):
        try:
            out.append({**json.loads(path.read_text()), "file": path.name})
        except (OSError, ValueError):
            out.append({"file": path.name, "unreadable": True})
    return out


@dataclass
class Snapshot:
    """The run's stored state: tasks by id, indexes, boards, histories, feeds and inboxes by board/task/user."""

    tasks: dict[str, dict] = field(default_factory=dict)
    indexes: dict[str, dict] = field(default_factory=dict)
    boards: dict[str, dict] = field(default_factory=dict)
    histories: dict[str, dict] = field(default_factory=dict)
    feeds: dict[str, dict] = field(default_factory=dict)
    inboxes: dict[str, list] = field(default_factory=dict)
    memberships: dict[str, dict] = field(default_factory=dict)  # user -> {board id: entry} (boards-of:<user>)
    mine: dict[str, dict] = field(default_factory=dict)  # user -> their "My tasks" index (my-tasks:<user>)
    pending_outbox: dict[str, list] = field(default_factory=dict)  # task id -> event ids still in the outbox
    ttls: dict[str, int] = field(default_factory=dict)
    deliveries: list[dict] = field(default_factory=list)


def run_tasks(stack, gateway, board_ids: set[str], known: set[str]) -> dict[str, dict]:
    """Every stored task document of the run: those the history names, those the run's indexes list, and any
    other task document on one of the run's boards (a task no index lists is found by the scan)."""
    indexed = values(gateway, [f"tasks-of:{b}" for b in sorted(board_ids)])
    ids = set(known) | {i for index in indexed.values() for i in (index or {}).get("ids", [])}
    docs = {k.split(":", 1)[1]: v for k, v in values(gateway, [f"task:{i}" for i in sorted(ids)]).items()}
    others = [k for k in scan(stack, "task:") if k.split(":", 1)[1] not in docs]
    for key, doc in values(gateway, others).items():
        if isinstance(doc, dict) and (doc.get("board_id") or doc.get("owner")) in board_ids:
            docs[key.split(":", 1)[1]] = doc
    return docs


def pending_events(gateway, tasks: dict[str, dict]) -> dict[str, list]:
    """The events each task document lists whose outbox item is still there (not handled yet)."""
    listed = {e: t for t, doc in tasks.items() for e in (doc or {}).get("outbox", [])}
    left = values(gateway, [f"outbox:{e}" for e in sorted(listed)])
    out: dict[str, list] = {}
    for key in left:
        event = key.split(":", 1)[1]
        out.setdefault(listed[event], []).append(event)
    return out


def snapshot(stack, gateway, board_ids: set[str], user_ids: set[str], known_tasks: set[str]) -> Snapshot:
    snap = Snapshot()
    snap.tasks = run_tasks(stack, gateway, board_ids, known_tasks)
    snap.indexes = {k.split(":", 1)[1]: v for k, v in
                    values(gateway, [f"tasks-of:{b}" for b in sorted(board_ids)]).items()}
    snap.boards = {k.split(":", 1)[1]: v for k, v in values(gateway, [f"board:{b}" for b in sorted(board_ids)]).items()}
    snap.histories = {k.split(":", 1)[1]: v for k, v in
                      values(gateway, [f"activity:{t}" for t in sorted(snap.tasks)]).items()}
    snap.feeds = {k.split(":", 1)[1]: v for k, v in
                  values(gateway, [f"board-feed:{b}" for b in sorted(board_ids)]).items()}
    heads = values(gateway, [f"inbox:{u}" for u in sorted(user_ids)] + [f"inbox-archive:{u}" for u in sorted(user_ids)])
    for user in user_ids:
        snap.inboxes[user] = [*(heads.get(f"inbox:{user}") or {}).get("items", []),
                              *(heads.get(f"inbox-archive:{user}") or {}).get("items", [])]
    snap.memberships = {k.split(":", 1)[1]: (v or {}).get("boards") or {} for k, v in
                        values(gateway, [f"boards-of:{u}" for u in sorted(user_ids)]).items()}
    found = values(gateway, [f"my-tasks:{u}" for u in sorted(user_ids)])
    snap.mine = {u: found.get(f"my-tasks:{u}") or {} for u in user_ids}
    snap.pending_outbox = pending_events(gateway, snap.tasks)
    keys = ([f"task:{t}" for t in snap.tasks] + [f"activity:{t}" for t in snap.histories]
            + [f"tasks-of:{b}" for b in snap.indexes] + [f"board:{b}" for b in snap.boards]
            + [f"outbox:{e}" for events in snap.pending_outbox.values() for e in events])
    snap.ttls = {key: stack.ttl_of(key) for key in keys}
    snap.deliveries = [d for d in deliveries(stack) if d.get("user_id") in user_ids or d.get("unreadable")]
    return snap


def fire_sweep(stack, gateway) -> int:
    """Play the `cron` binding's part now instead of within 5 minutes: free the sweep's lease (held for most
    of a period after each run) and trigger the sweep, the outbox's backstop; the app's answer status."""
    gateway.delete("lease:sweep")
    request = urllib.request.Request(f"http://127.0.0.1:{stack.ports.apps[APP].app}/cron", data=b"{}", method="POST",
                                     headers={"dapr-api-token": stack.app_token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@dataclass
class Settled:
    before_sweep: Snapshot  # when the events stopped moving by the app's own paths (request, relay)
    final: Snapshot  # after the sweep picked up what those left (the same snapshot if nothing was left)
    seconds: float
    sweeps: int


def closing_boards(gateway, board_ids: set[str]) -> list[dict]:
    """The records of the run's boards that are closing (a deletion under way, or stopped half-way)."""
    records = values(gateway, [f"board:{b}" for b in sorted(board_ids)]).values()
    return [r for r in records if isinstance(r, dict) and r.get("closing") and not r.get("deleted")]


def settle(stack, gateway, board_ids: set[str], user_ids: set[str], known_tasks: set[str],
           timeout: float, quiet_for: float = 20.0) -> Settled:
    """Wait until no task lists an unhandled event, every delivered notification is in its inbox and nothing
    changes for ``quiet_for`` seconds (at most ``timeout``). The quiet spell outlasts a notification-service
    circuit breaker's 15 s and a redelivery's backoff (components/resiliency.yaml): an event whose history is
    recorded may still be retried for its notifications. Events still pending once things are quiet were
    stranded (the publish failed and so did marking them for the relay): the sweep is fired for them (it
    takes events older than a minute); so it is for a board deletion that stopped half-way, once its board has
    been closing for longer than the sweep waits. A store that cannot be read yet (just restarted) is read
    again."""
    started = time.monotonic()
    last, quiet_since, before, sweeps = None, time.monotonic(), None, 0
    while time.monotonic() - started < timeout:
        try:
            tasks = run_tasks(stack, gateway, board_ids, known_tasks)
            pending = pending_events(gateway, tasks)
            inbox = values(gateway, [f"inbox:{u}" for u in sorted(user_ids)])
        except Exception:  # noqa: BLE001 (the sidecar or store still coming back: read again)
            time.sleep(1)
            continue
        delivered = deliveries(stack)
        in_inbox = {(u, i.get("id")) for u in user_ids for i in (inbox.get(f"inbox:{u}") or {}).get("items", [])}
        unannounced = [d for d in delivered if d.get("user_id") in user_ids
                       and (d.get("user_id"), d.get("notification_id")) not in in_inbox]
        mark = (len(tasks), sum(len(v) for v in pending.values()), len(delivered), len(unannounced),
                json.dumps(inbox, sort_keys=True, default=str))
        if mark != last or unannounced:
            last, quiet_since = mark, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_for:
            if before is None:
                before = snapshot(stack, gateway, board_ids, user_ids, known_tasks)
            closing = closing_boards(gateway, board_ids)
            if not pending and not closing:
                break
            if pending or any(deletion_stalled(record, datetime.now(timezone.utc), STALLED_DELETION_SECONDS)
                              for record in closing):
                fire_sweep(stack, gateway)
                sweeps, quiet_since = sweeps + 1, time.monotonic()
        time.sleep(1)
    final = snapshot(stack, gateway, board_ids, user_ids, known_tasks)
    return Settled(before or final, final, time.monotonic() - started, sweeps)
