"""Each app gets what it needs and no more, on every tier: its own tokens, its own topics, a secret store and a
Kubernetes API token only where something reads a secret."""

from __future__ import annotations

import pytest

from .conftest import ROOT, RENDERINGS
from .manifests import app_deployments, by_kind, container, env_of, load_yaml_dir

TOPICS = {"task-events", "task-updates", "task-events-deadletter", "task-updates-deadletter"}
LOCAL_SETS = [ROOT / "components", ROOT / "components" / "postgres-kafka"]


def scoped(value: str) -> dict[str, set[str]]:
    """``app=t1,t2;app2=`` as {app: {topics}} (an app with nothing after ``=`` may use no topic)."""
    out = {}
    for part in filter(None, value.replace(" ", "").split(";")):
        app, _, topics = part.partition("=")
        out[app] = set(filter(None, topics.split(",")))
    return out


def check_pubsub(component: dict) -> None:
    metadata = {m["name"]: m.get("value") for m in component["spec"]["metadata"]}
    assert set(metadata["allowedTopics"].split(",")) == TOPICS
    assert scoped(metadata["publishingScopes"]) == {"taskboard": TOPICS, "notification-service": {"task-updates"}}
    assert scoped(metadata["subscriptionScopes"]) == {"taskboard": TOPICS, "notification-service": set()}


@pytest.mark.parametrize("folder", LOCAL_SETS, ids=lambda p: p.name)
def test_the_local_brokers_scope_each_apps_topics(folder):
    check_pubsub(by_kind(load_yaml_dir(folder), "Component")["pubsub"])


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_the_clusters_broker_scopes_each_apps_topics_and_only_taskboard_has_a_secret_store(rendered, overlay):
    components = by_kind(rendered[overlay], "Component")
    check_pubsub(components["pubsub"])
    assert components["secretstore"]["scopes"] == ["taskboard"]


def test_only_taskboard_loads_the_local_secret_store():
    assert by_kind(load_yaml_dir(ROOT / "components"), "Component")["secretstore"]["scopes"] == ["taskboard"]


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_each_app_has_its_own_tokens_and_only_taskboard_a_kubernetes_api_token(rendered, overlay):
    deployments = app_deployments(rendered[overlay])
    secrets = {}
    for app_id, dep in deployments.items():
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        env = env_of(container(dep))
        secrets[app_id] = {ann["dapr.io/api-token-secret"], ann["dapr.io/app-token-secret"]}
        assert {env[v]["valueFrom"]["secretKeyRef"]["name"] for v in ("DAPR_API_TOKEN", "APP_API_TOKEN")} == \
            secrets[app_id]
    assert len(secrets["taskboard"] | secrets["notification-service"]) == 4
    taskboard = deployments["taskboard"]["spec"]["template"]
    notifier = deployments["notification-service"]["spec"]["template"]
    assert taskboard["spec"]["automountServiceAccountToken"] is True  # its sidecar's secret store reads the key
    assert notifier["spec"]["automountServiceAccountToken"] is False
    assert notifier["metadata"]["annotations"]["dapr.io/disable-builtin-k8s-secret-store"] == "true"
