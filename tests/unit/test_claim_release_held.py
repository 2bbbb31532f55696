"""A failed delivery's claim is released even when the sidecar refused the release (it is what failed, as a
rule): held, and released once the sidecar answers again — not left to answer every retry "in progress" until
it turns stale (webapp/notification_service/delivery.py). The sidecar here is a stand-in that refuses twice:
what is tested is the holding, not Dapr."""

from __future__ import annotations

import time

from flask import Flask

from webapp.dapr_gateway import Item, Unavailable
from webapp.notification_service import delivery


class RefusingTwice:
    def __init__(self, claim: dict) -> None:
        self.records = {"notification:n1": claim}
        self.refusals = 2

    def get(self, key: str) -> Item:
        if self.refusals:
            self.refusals -= 1
            raise Unavailable("sidecar gone")
        return Item(key, self.records.get(key), "7" if key in self.records else None)

    def delete(self, key: str, etag: str | None = None) -> None:
        assert etag == "7"
        self.records.pop(key)


def test_a_release_the_sidecar_refused_is_done_once_it_answers(monkeypatch):
    sidecar = RefusingTwice({"notification_id": "n1", "status": "claimed", "claim": "c1"})
    monkeypatch.setattr(delivery, "gateway", lambda: sidecar)
    with Flask(__name__).app_context():
        delivery.release({"notification_id": "n1"}, "c1")
    assert "notification:n1" in sidecar.records  # refused at once: held
    deadline = time.monotonic() + 10
    while "notification:n1" in sidecar.records and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "notification:n1" not in sidecar.records


def test_another_attempts_claim_is_not_released(monkeypatch):
    sidecar = RefusingTwice({"notification_id": "n1", "status": "claimed", "claim": "someone-else"})
    sidecar.refusals = 0
    monkeypatch.setattr(delivery, "gateway", lambda: sidecar)
    with Flask(__name__).app_context():
        delivery.release({"notification_id": "n1"}, "c1")
    assert sidecar.records["notification:n1"]["claim"] == "someone-else"
