"""The cluster's default StorageClass (local-path-provisioner, deploy/local-cluster/addons/local-path) provides
the volumes that Dapr's chart claims as users install it (the scheduler's data, placement's raft log) and, on the
postgres-kafka tier, the PostgreSQL and Kafka StatefulSets' data: every claim bound to a directory on the node
under the cluster's state directory, and the servers' files in it."""

from __future__ import annotations

from pathlib import Path

from .conftest import STATE, kube_json

DAPR_CLAIMS = {f"dapr-scheduler-data-dir-dapr-scheduler-server-{n}" for n in range(3)} | {
    f"raft-log-dapr-placement-server-{n}" for n in range(3)}
# The file each server writes into its volume on first start (relative to the volume's directory).
DATA_TIER_FILES = {"data-postgresql-0": "pgdata/PG_VERSION", "data-kafka-0": "logs/meta.properties"}


def claims(namespace: str) -> dict[str, dict]:
    return {c["metadata"]["name"]: c for c in kube_json("-n", namespace, "get", "pvc")["items"]}


def volume_dir(claim: dict) -> Path:
    """The node directory of a bound claim's volume (local-path makes hostPath volumes)."""
    pv = kube_json("get", "pv", claim["spec"]["volumeName"])
    return Path(pv["spec"]["hostPath"]["path"])


def test_local_path_is_the_one_default_storage_class(cluster):
    defaults = [sc for sc in kube_json("get", "storageclass")["items"]
                if sc["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"]
    assert [(sc["metadata"]["name"], sc["provisioner"]) for sc in defaults] == [("local-path", "rancher.io/local-path")]


def test_dapr_keeps_its_scheduler_and_placement_data_on_bound_claims(cluster):
    found = claims("dapr-system")
    assert set(found) == DAPR_CLAIMS
    for name, claim in found.items():
        assert claim["status"]["phase"] == "Bound", name
        assert claim["spec"]["storageClassName"] == "local-path", name
        assert volume_dir(claim).is_relative_to(STATE / "local-path"), name


def test_the_data_tier_keeps_its_data_on_bound_claims(data_tier):
    found = claims("taskboard")
    expected = set(DATA_TIER_FILES) if data_tier.name == "postgres-kafka" else set()
    assert set(found) == expected
    for name, claim in found.items():
        assert claim["status"]["phase"] == "Bound", name
        assert (volume_dir(claim) / DATA_TIER_FILES[name]).is_file(), name
