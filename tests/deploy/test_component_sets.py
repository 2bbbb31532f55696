"""The cluster runs what was tested: the prod-postgres-kafka overlay's state store and broker have the
metadata of the local postgres-kafka set (components/postgres-kafka/, which `TASKBOARD_STACK=postgres-kafka
make test` runs), apart from addresses and secrets; the local sets differ only in those two components."""

from __future__ import annotations

import pytest

from .conftest import ROOT
from .manifests import by_kind, load_yaml_dir

LOCAL_SET = ROOT / "components" / "postgres-kafka"
# Where the servers are and how to reach them securely: set per environment, the rest must agree.
ADDRESSES_AND_SECRETS = {
    "state.postgresql": {"connectionString"},
    "pubsub.kafka": {"brokers", "authType", "saslUsername", "saslPassword", "saslMechanism", "caCert",
                     "disableTls", "clientCert", "clientKey", "skipVerify"},
}


def settings(component: dict) -> dict[str, str]:
    """A component's metadata other than addresses and secrets: {name: literal value}."""
    skip = ADDRESSES_AND_SECRETS.get(component["spec"]["type"], set())
    out = {}
    for item in component["spec"].get("metadata") or []:
        if item["name"] in skip:
            continue
        assert "value" in item, f"{component['metadata']['name']}.{item['name']}: not an address or secret, " \
                                f"so it must be a literal value, not {item}"
        out[item["name"]] = item["value"]
    return out


def local_set() -> dict[str, dict]:
    return by_kind(load_yaml_dir(LOCAL_SET), "Component")


def test_the_local_set_replaces_exactly_the_state_store_and_the_broker():
    assert {name: c["spec"]["type"] for name, c in local_set().items()} == {
        "statestore": "state.postgresql", "pubsub": "pubsub.kafka"}
    redis_set = by_kind(load_yaml_dir(ROOT / "components"), "Component")
    for name, component in local_set().items():
        assert component["scopes"] == redis_set[name]["scopes"], name
    assert not [c for c in redis_set.values() if c["spec"]["type"].startswith("lock.")], \
        "no lock store: the postgres-kafka set must have everything the Redis set has"


@pytest.mark.parametrize("name", ["statestore", "pubsub"])
def test_prod_postgres_kafka_has_the_tested_metadata(rendered, name):
    cluster = by_kind(rendered["prod-postgres-kafka"], "Component")[name]
    local = local_set()[name]
    assert (cluster["spec"]["type"], cluster["spec"]["version"]) == (local["spec"]["type"], local["spec"]["version"])
    assert settings(cluster) == settings(local)
    assert sorted(cluster["scopes"]) == sorted(local["scopes"])


def test_prod_postgres_kafka_has_no_redis_component(rendered):
    components = by_kind(rendered["prod-postgres-kafka"], "Component").values()
    redis = [c["metadata"]["name"] for c in components if c["spec"]["type"].endswith(".redis")]
    assert redis == []


def test_the_comparison_sees_a_difference():
    """The check can fail: a changed setting or one missing on either side is a difference."""
    local = local_set()["pubsub"]
    changed = {**local, "spec": {**local["spec"], "metadata": [
        {**m, "value": "newest"} if m["name"] == "initialOffset" else m for m in local["spec"]["metadata"]]}}
    fewer = {**local, "spec": {**local["spec"], "metadata": [
        m for m in local["spec"]["metadata"] if m["name"] != "dialTimeout"]}}
    assert settings(changed) != settings(local) and settings(fewer) != settings(local)
