"""Replicas replaced or failing under constant load through the proxy: 0 lost requests in a rolling
restart, and after a sidecar is killed, every acknowledged change and its events are there."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from tests.scale.conftest import WebUser
from webapp.keys import PENDING_BOARDS


class Load:
    """Users creating and completing tasks through the proxy until stopped; every answer is kept.

    A steady load (each user pauses between changes), not a saturating one: on 2 shared cores a
    closed loop at full speed makes every sidecar call slow enough to time out, which would test
    overload, not a replacement of replicas.
    """

    PAUSE_SECONDS = 0.1

    def __init__(self, base: str, users: int = 3):
        self.users = [WebUser(base) for _ in range(users)]
        for user in self.users:
            user.register()
        self.answers: list[tuple[str, int]] = []  # (what, HTTP status or 0 for no answer)
        self.completed: list[str] = []  # tasks whose completion was acknowledged
        self.acknowledged_at: dict[str, float] = {}  # task id → when its completion was acknowledged (epoch s)
        self.created: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(u,), daemon=True) for u in self.users]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, user: WebUser) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                task_id = user.create_task(f"Load {n}")
            except (AssertionError, OSError) as err:
                self.answers.append(("create", getattr(err, "code", 0) or _status_in(err)))
                continue
            self.created.append(task_id)
            self.answers.append(("create", 302))
            try:
                status = user.complete(task_id)
            except OSError:
                status = 0
            self.answers.append(("complete", status))
            if status == 302:
                self.completed.append(task_id)
                self.acknowledged_at[task_id] = time.time()
            self._stop.wait(self.PAUSE_SECONDS)

    def failures(self, allowed: tuple[int, ...] = ()) -> list[tuple[str, int]]:
        return [(what, status) for what, status in self.answers if status not in (302, *allowed)]


def _status_in(err: Exception) -> int:
    """The status a failed form post reported in its assertion message (GET /x: 503), or 0."""
    text = str(err)
    for word in text.replace(":", " ").split():
        if word.isdigit() and len(word) == 3:
            return int(word)
    return 0


def _deliveries(replicas) -> dict[str, list[dict]]:
    """The task.completed deliveries by task id."""
    found: dict[str, list[dict]] = {}
    for path in Path(replicas.run_dir, "deliveries").glob("*.json"):
        document = json.loads(path.read_text())
        if document.get("kind") == "task.completed":
            found.setdefault(document["task_id"], []).append(document)
    return found


def _delivered(replicas) -> dict[str, int]:
    return {task_id: len(found) for task_id, found in _deliveries(replicas).items()}


def _sweep(replicas) -> None:
    """What the `cron` binding does every 5 minutes: the sweep, whose outbox backstop publishes
    events a request stored but could not publish (its sidecar died between the two)."""
    ports = replicas.ports.apps["taskboard"]
    request = urllib.request.Request(f"http://127.0.0.1:{ports.app}/cron", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json",
                                              "dapr-api-token": replicas.app_token})
    with urllib.request.urlopen(request, timeout=120) as answer:
        assert answer.status == 200


def _without_history(gateway, load: Load) -> list[str]:
    return [t for t in load.created if "task.created" not in
            [e["type"] for e in (gateway.get(f"activity:{t}").value or {}).get("items", [])]]


def what_is_known(gateway, replicas, task_id: str, event_type: str) -> dict:
    """Everything stored about a task's event of ``event_type``: which event it is, whether its outbox item is
    still there (not handled), whether its board is marked for the relay, its history entry, the owner's inbox
    entry, its deliveries and a dead letter."""
    document = gateway.get(f"task:{task_id}").value or {}
    owner = document.get("user_id") or document.get("owner")
    history = (gateway.get(f"activity:{task_id}").value or {}).get("items", [])
    entries = [e for e in history if e["type"] == event_type]
    listed = [e for e in document.get("outbox") or [] if isinstance(e, str)]
    stored = {e: gateway.get(f"outbox:{e}").value for e in listed}
    event_ids = [e["id"] for e in entries] or [e for e, v in stored.items() if v and v.get("type") == event_type]
    inbox = (gateway.get(f"inbox:{owner}").value or {}).get("items", []) if owner else []
    dead = (gateway.get("dead-letters").value or {}).get("items", [])
    pending = (gateway.get(PENDING_BOARDS).value or {}).get("items", [])
    return {
        "task_id": task_id, "owner": owner, "status": document.get("status"), "event_ids": event_ids,
        "outbox_listed": listed, "outbox_items": {e: (v or {}).get("type") for e, v in stored.items()},
        "board_marked_for_relay": any(p.get("id") == (document.get("board_id") or owner) for p in pending),
        "history": [(e["type"], e["id"]) for e in history],
        "inbox": [i for i in inbox if i.get("task_id") == task_id],
        "deliveries": _deliveries(replicas).get(task_id, []),
        "dead_letters": [d["id"] for d in dead if (d.get("data") or {}).get("task_id") == task_id],
    }


def _until_complete(missing, timeout: float = 120) -> list[str]:
    """Poll ``missing()`` until it is empty or ``timeout`` passes; what is still missing then."""
    deadline = time.monotonic() + timeout
    while (left := missing()) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def _every_event_handled(replicas, gateway, load: Load) -> None:
    """Every acknowledged task is stored with its creation in its history, every acknowledged
    completion is delivered exactly once; a failure names each missing event and what is known of it."""
    assert [t for t in load.created if not gateway.get(f"task:{t}").exists] == []
    gateway.delete("lease:sweep")  # a new period: no replica has swept in it yet
    _sweep(replicas)
    no_history = _until_complete(lambda: _without_history(gateway, load))
    assert no_history == [], [what_is_known(gateway, replicas, t, "task.created") for t in no_history]
    undelivered = _until_complete(lambda: sorted(set(load.completed) - set(_delivered(replicas))))
    assert undelivered == [], [what_is_known(gateway, replicas, t, "task.completed") for t in undelivered]
    delivered = _delivered(replicas)
    assert [t for t in load.completed if delivered[t] != 1] == []


def _report_delivery_lags(replicas, load: Load, since: float, until: float) -> None:
    """Print (with -s) how long after its acknowledgement each completion was delivered: all of them, and
    those acknowledged between ``since`` and ``until`` (epoch s: around the fault)."""
    deliveries = _deliveries(replicas)
    lags = {t: datetime.fromisoformat(deliveries[t][0]["delivered_at"]).timestamp() - at
            for t, at in load.acknowledged_at.items() if t in deliveries}
    around = sorted(lag for t, lag in lags.items() if since <= load.acknowledged_at[t] <= until)
    every = sorted(lags.values())
    print(f"[delivery lag] {len(every)} completions: median {every[len(every) // 2]:.1f} s, "
          f"max {every[-1]:.1f} s; {len(around)} acknowledged around the fault: "
          f"max {around[-1] if around else 0:.1f} s ({', '.join(f'{x:.1f}' for x in around[-10:])})")


def test_a_rolling_restart_of_every_replica_loses_no_request_and_no_event(replicas, gateway):
    with Load(replicas.url()) as load:
        time.sleep(2)
        for instance in list(replicas.ports.apps):
            replicas.rolling_restart(instance)
        time.sleep(2)
    print(f"\n[rolling restart] {len(load.answers)} requests, {len(load.created)} creates, "
          f"{len(load.completed)} completions, failures {load.failures()}")
    assert len(load.answers) > 50
    assert load.failures() == []
    _every_event_handled(replicas, gateway, load)


def test_killing_one_replicas_sidecar_under_load_loses_nothing_acknowledged(replicas, gateway):
    with Load(replicas.url()) as load:
        time.sleep(2)
        killed_at = time.time()
        replicas.processes.procs["daprd-taskboard-2"].kill()
        time.sleep(8)
        replicas.restart("daprd-taskboard-2")
        time.sleep(4)
    print(f"\n[sidecar killed] {len(load.answers)} requests, failures {load.failures()}")
    assert load.failures(allowed=(503,)) == []  # a clean 503 while the proxy notices; never a 500
    _every_event_handled(replicas, gateway, load)
    _report_delivery_lags(replicas, load, killed_at - 2, killed_at + 10)
