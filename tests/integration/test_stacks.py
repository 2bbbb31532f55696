"""The data tier is the switch's (TASKBOARD_STACK): its servers run, its components are loaded, and the
postgres-kafka stack has no Redis anywhere. The rest of the suite is the same on both stacks."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest

from tests.conftest import Browser, eventually, unique_name
from webapp.dapr_gateway import Conflict

EXPECTED = {  # stack: (state store, pub/sub) component types
    "redis": ("state.redis", "pubsub.redis"),
    "postgres-kafka": ("state.postgresql", "pubsub.kafka"),
}


def loaded_components(stack, instance: str) -> dict[str, str]:
    """{name: type} of what an instance's daprd loaded (its metadata API)."""
    url = f"http://127.0.0.1:{stack.ports.apps[instance].http}/v1.0/metadata"
    with urllib.request.urlopen(url, timeout=5) as resp:
        return {c["name"]: c["type"] for c in json.loads(resp.read())["components"]}


def command_lines(stack) -> list[str]:
    """The command line of every process the stack runs (and their children)."""
    lines = []
    for proc in stack.procs.values():
        pids = [proc.pid]
        children = f"/proc/{proc.pid}/task/{proc.pid}/children"
        try:
            with open(children) as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    lines.append(f.read().replace(b"\0", b" ").decode())
            except OSError:
                pass
    return lines


def test_both_sidecars_load_the_component_set_of_the_switch(stack):
    for instance in ("taskboard", "notification-service"):
        types = loaded_components(stack, instance)
        assert (types["statestore"], types["pubsub"]) == EXPECTED[stack.stack_name], instance
        assert not [t for t in types.values() if t.startswith("lock.")], "no lock store on any stack"


def test_the_data_servers_of_the_switch_run_and_no_other(stack):
    servers = set(stack.servers())
    assert servers <= set(stack.procs)
    assert not ({"redis", "postgres", "kafka"} - servers) & set(stack.procs)
    if stack.stack_name == "postgres-kafka":
        assert not [line for line in command_lines(stack) if "redis" in line.split(" ")[0]], \
            "the postgres-kafka stack runs without Redis"
        assert any("kafka.Kafka" in line for line in command_lines(stack))


def test_a_ttl_is_kept_by_the_store_itself(stack, gateway):
    """Throttling windows, leases and tombstones rely on the store's TTL and create-if-absent, on either stack."""
    key = f"probe:ttl:{uuid.uuid4().hex}"
    gateway.create(key, {"n": 1}, ttl_seconds=120)
    assert 100 < stack.ttl_of(key) <= 120
    with pytest.raises(Conflict):
        gateway.create(key, {"n": 2})  # held while it lives
    short = f"probe:ttl:{uuid.uuid4().hex}"
    gateway.create(short, {"n": 1}, ttl_seconds=1)
    eventually(lambda: not gateway.get(short).exists, timeout=10)
    gateway.create(short, {"n": 2})  # expired: free again
    assert gateway.get(short).value == {"n": 2} and stack.ttl_of(short) == -1


def _register(app, name: str):
    return Browser(app.test_client()).form_post("/register", {
        "username": name, "password": "password123", "confirm": "password123", "timezone": "UTC"})


def test_a_claim_left_pending_by_a_dead_registration_is_taken_over_only_when_old(app, gateway):
    """The username claim needs no lock store: a registration that died between claim and account
    leaves a pending claim; the name is free again after CLAIM_PENDING_SECONDS, not before."""
    from webapp.auth import users
    fresh, old = unique_name("pending"), unique_name("abandoned")
    gateway.create(f"username:{fresh}", {"user_id": "ghost", "claimed_at": time.time()})
    gateway.create(f"username:{old}", {"user_id": "ghost",
                                       "claimed_at": time.time() - users.CLAIM_PENDING_SECONDS - 5})
    refused = _register(app, fresh)
    assert refused.status_code == 422 and "This username is taken" in refused.get_data(as_text=True)
    assert _register(app, old).status_code == 302
    claim = gateway.get(f"username:{old}").value
    assert claim["user_id"] != "ghost" and "claimed_at" not in claim  # final: never taken over again
    assert gateway.get(f"user:{claim['user_id']}").value["username"] == old
