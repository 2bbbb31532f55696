"""Periodic work across replicas: the sweep and the relay run once per period, an empty run is cheap."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import eventually
from webapp import state_lists, sweep

CALLS = ("get", "get_many", "save", "create", "save_versioned", "delete", "transact", "publish", "invoke",
         "schedule_job", "delete_job", "get_job")


@pytest.fixture
def sidecar_calls(gateway, monkeypatch):
    """Every call the in-process app makes to its sidecar, by method (the real calls still happen)."""
    calls: list[str] = []
    for name in CALLS:
        real = getattr(gateway, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(gateway, name, counted)
    return calls


def _binding(stack, name: str) -> dict:
    req = urllib.request.Request(stack.url() + f"/{name}", data=b"", method="POST",
                                 headers={"dapr-api-token": stack.app_token})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def test_two_concurrent_cron_triggers_sweep_once(gateway, stack):
    gateway.delete(sweep.lease_key("sweep"))  # a period with no sweep yet
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: _binding(stack, "cron"), range(2)))
    assert [a["status"] for a in answers] == ["done", "done"]
    assert sorted(a["leased"] for a in answers) == [0, 1]
    assert "users" in next(a for a in answers if a["leased"]) and "users" not in next(
        a for a in answers if not a["leased"])
    assert _binding(stack, "cron")["leased"] == 0  # still this period: the lease has not expired
    assert gateway.get(sweep.lease_key("sweep")).exists


def test_the_lease_expires_with_its_ttl(app, gateway, monkeypatch):
    monkeypatch.setitem(sweep.LEASES, "relay", 1)
    with app.app_context():
        gateway.delete(sweep.lease_key("relay"))
        assert sweep.on_relay()["leased"] == 1
        assert sweep.on_relay()["leased"] == 0
        eventually(lambda: sweep.on_relay()["leased"] == 1, timeout=10, interval=0.5)


def test_an_empty_relay_and_a_skipped_sweep_cost_a_constant_number_of_sidecar_calls(app, gateway, sidecar_calls):
    with app.app_context():
        eventually(lambda: not state_lists.read(sweep.PENDING)[0], timeout=30)  # nothing pending
        gateway.delete(sweep.lease_key("relay"))
        sidecar_calls.clear()
        assert sweep.on_relay() == {"leased": 1, "users": 0, "events": 0}
        empty_relay = Counter(sidecar_calls)
        sidecar_calls.clear()
        assert sweep.on_relay() == {"leased": 0}
        held_relay = Counter(sidecar_calls)
        gateway.delete(sweep.lease_key("sweep"))
        gateway.create(sweep.lease_key("sweep"), {"held": "by another replica"}, ttl_seconds=60)
        sidecar_calls.clear()
        assert sweep.on_cron() == {"leased": 0}
        held_sweep = Counter(sidecar_calls)
        gateway.delete(sweep.lease_key("sweep"))
    print(f"\nsidecar calls: empty relay {dict(empty_relay)}, relay on a held lease {dict(held_relay)}, "
          f"sweep on a held lease {dict(held_sweep)}")
    assert empty_relay == {"create": 1, "get": 1}
    assert held_relay == held_sweep == {"create": 1}
