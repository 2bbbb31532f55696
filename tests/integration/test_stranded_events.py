"""An acknowledged change whose sidecar died between its transaction and its publish: the event is stored, but
neither published nor marked for the relay (that mark is a write through the same dead sidecar). The process
that acknowledged it publishes it once the sidecar answers again, without waiting for the sweep's walk."""

from __future__ import annotations

from tests.conftest import eventually
from webapp.background import relay
from webapp.dapr_gateway import Unavailable
from webapp.tasks import outbox, relay_marks, store


def _history_types(gateway, task_id: str) -> list[str]:
    return [e["type"] for e in (gateway.get(f"activity:{task_id}").value or {}).get("items", [])]


def _sidecar_gone(*_args, **_kwargs):
    raise Unavailable("publish: UNAVAILABLE the sidecar is gone")


def test_an_event_neither_published_nor_marked_goes_out_once_the_sidecar_answers_again(app, user, owner, gateway,
                                                                                     monkeypatch):
    task_id = user.create_task(title="Stranded by a dying sidecar")
    eventually(lambda: "task.created" in _history_types(gateway, task_id), timeout=30)
    monkeypatch.setattr(outbox, "publish", _sidecar_gone)
    monkeypatch.setattr(relay_marks, "mark_pending", _sidecar_gone)
    response = user.action(task_id, "complete")
    assert response.status_code == 302  # acknowledged: the change and its event are stored
    monkeypatch.undo()  # the sidecar is back
    event_id = gateway.get(store.task_key(task_id)).value["outbox"][-1]
    assert gateway.get(store.outbox_key(event_id)).exists
    assert [entry for entry in (gateway.get(relay.PENDING).value or {}).get("items", [])
            if entry.get("id") == owner] == []  # the relay does not know of it; only the sweep's walk would
    eventually(lambda: "task.completed" in _history_types(gateway, task_id), timeout=45, interval=0.5)
    eventually(lambda: not gateway.get(store.outbox_key(event_id)).exists, timeout=30, interval=0.5)
