"""Replicas replaced or failing under constant load through the proxy: 0 lost requests in a rolling
restart, and after a sidecar is killed, every acknowledged change and its events are there."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

from tests.conftest import eventually
from tests.scale.conftest import WebUser


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


def _delivered(replicas) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in Path(replicas.run_dir, "deliveries").glob("*.json"):
        document = json.loads(path.read_text())
        if document.get("kind") == "task.completed":
            counts[document["task_id"]] = counts.get(document["task_id"], 0) + 1
    return counts


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


def _every_event_handled(replicas, gateway, load: Load) -> None:
    """Every acknowledged task is stored with its creation in its history, every acknowledged
    completion is delivered exactly once."""
    assert [t for t in load.created if not gateway.get(f"task:{t}").exists] == []
    gateway.delete("lease:sweep")  # a new period: no replica has swept in it yet
    _sweep(replicas)
    eventually(lambda: not _without_history(gateway, load), timeout=120, interval=1)
    eventually(lambda: not set(load.completed) - set(_delivered(replicas)), timeout=120, interval=1)
    delivered = _delivered(replicas)
    assert [t for t in load.completed if delivered[t] != 1] == []


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
        replicas.processes.procs["daprd-taskboard-2"].kill()
        time.sleep(8)
        replicas.restart("daprd-taskboard-2")
        time.sleep(4)
    print(f"\n[sidecar killed] {len(load.answers)} requests, failures {load.failures()}")
    assert load.failures(allowed=(503,)) == []  # a clean 503 while the proxy notices; never a 500
    _every_event_handled(replicas, gateway, load)
