"""Traffic and availability: the Service and the Ingress take users to taskboard's pods only, the
HorizontalPodAutoscaler owns its replica count, every app has a PodDisruptionBudget, and
NetworkPolicies isolate each app's pods."""

from __future__ import annotations

import pytest

from .conftest import RENDERINGS
from .manifests import APP_PORTS, DAPR_SIDECAR_PORTS, PROD_OVERLAYS, app_deployments, by_kind

INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx"


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def pod_labels(dep: dict) -> dict:
    return dep["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_service_reaches_the_web_pods_on_the_named_port(rendered, overlay):
    docs = rendered[overlay]
    svc = by_kind(docs, "Service")["taskboard"]
    assert selects(svc["spec"]["selector"], pod_labels(app_deployments(docs)["taskboard"]))
    assert {p["targetPort"] for p in svc["spec"]["ports"]} == {"http"}


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_ingress_is_nginx_with_tls_for_every_host_and_routes_only_to_the_service(rendered, overlay):
    """Every backend is taskboard's Service on its http port: metrics are never routed."""
    ingresses = by_kind(rendered[overlay], "Ingress")
    assert ingresses
    for ing in ingresses.values():
        spec = ing["spec"]
        assert spec["ingressClassName"] == "nginx"
        tls_hosts = {h for t in spec["tls"] for h in t["hosts"]}
        for rule in spec["rules"]:
            assert rule["host"] in tls_hosts
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == "taskboard" and backend["port"] == {"name": "http"}


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_ingress_blocks_the_dapr_routes(rendered, overlay):
    ingress = by_kind(rendered[overlay], "Ingress")["taskboard-dapr-routes"]
    blocked = {p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert {"/dapr", "/events", "/job"} <= blocked


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_autoscaler_owns_the_web_replica_count(rendered, overlay):
    docs = rendered[overlay]
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["taskboard"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "taskboard"}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert "replicas" not in app_deployments(docs)["taskboard"]["spec"], "taskboard's replicas belong to the HPA"
    if overlay in PROD_OVERLAYS:
        assert hpa["spec"]["minReplicas"] >= 2


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_every_app_has_a_disruption_budget(rendered, overlay):
    docs = rendered[overlay]
    pdbs = by_kind(docs, "PodDisruptionBudget").values()
    for app_id, dep in app_deployments(docs).items():
        assert [p for p in pdbs if selects(p["spec"]["selector"]["matchLabels"], pod_labels(dep))], app_id


def check_ingress_rule(app_id: str, rule: dict) -> None:
    """A NetworkPolicy ingress rule names its ports and peers; the app port is open only to the
    ingress controller (taskboard) or to nobody (notification-service); the ingress controller
    reaches nothing but the app port; daprd's internal gRPC port only Dapr pods."""
    ports = {p["port"] for p in rule.get("ports", [])}
    assert ports, f"{app_id}: a rule without ports opens every port"
    peers = rule.get("from", [])
    assert peers, f"{app_id}: a rule without peers admits everyone"
    from_ingress = any(p.get("namespaceSelector", {}).get("matchLabels", {})
                       .get("kubernetes.io/metadata.name") == INGRESS_CONTROLLER_NAMESPACE for p in peers)
    if APP_PORTS[app_id] in ports or "http" in ports:
        assert app_id == "taskboard" and from_ingress and len(peers) == 1, f"{app_id}: app port"
    if from_ingress:
        assert ports == {APP_PORTS[app_id]}, f"{app_id}: ingress controller may reach only the app port"
    if DAPR_SIDECAR_PORTS["internal_grpc"] in ports:
        assert all(p.get("podSelector", {}).get("matchLabels") == {"dapr.io/sidecar-injected": "true"}
                   for p in peers), f"{app_id}: sidecar port open beyond Dapr pods"


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_network_policies_isolate_each_app(rendered, overlay):
    docs = rendered[overlay]
    policies = by_kind(docs, "NetworkPolicy").values()
    for app_id, dep in app_deployments(docs).items():
        mine = [p for p in policies if selects(p["spec"]["podSelector"].get("matchLabels", {}), pod_labels(dep))]
        assert mine and all("Ingress" in p["spec"]["policyTypes"] for p in mine), app_id
        for policy in mine:
            for rule in policy["spec"].get("ingress", []):
                check_ingress_rule(app_id, rule)
