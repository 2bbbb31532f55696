"""Redis Streams on every tier: a sidecar that dies leaves its read-but-unacknowledged events pending in the
app's consumer group, and the app's other replicas reclaim them within processingTimeout + redeliverInterval."""

from __future__ import annotations

import re

import pytest

from .conftest import ROOT
from .manifests import by_kind, load_yaml_dir

RECLAIMED_WITHIN_SECONDS = 30


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", value)
    assert match, f"not a duration: {value!r}"
    return int(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[match.group(2)]


def _check(component: dict) -> None:
    metadata = {m["name"]: m.get("value") for m in component["spec"]["metadata"]}
    # pubsub.redis names the consumer group AND the consumer by consumerID: one per app-id, never per pod
    assert metadata.get("consumerID") == "{appID}", metadata.get("consumerID")
    reclaim = _seconds(metadata["processingTimeout"]) + _seconds(metadata["redeliverInterval"])
    assert 0 < reclaim <= RECLAIMED_WITHIN_SECONDS


def test_the_local_redis_pubsub_has_one_group_per_app_and_reclaims_a_dead_sidecars_events():
    _check(by_kind(load_yaml_dir(ROOT / "components"), "Component")["pubsub"])


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_the_clusters_redis_pubsub_has_one_group_per_app_and_reclaims_a_dead_sidecars_events(rendered, overlay):
    _check(by_kind(rendered[overlay], "Component")["pubsub"])
