"""What the cluster exposes: the Ingress blocks every inbound Dapr route the app registers, and the
apps' metrics are scraped from the pods on their own port, never through a Service or the Ingress."""

from __future__ import annotations

import itertools
import re

import pytest

from .conftest import RENDERINGS
from .manifests import APP_METRICS_PORT, app_deployments, by_kind, container, env_of

DENY_ALL = {"0.0.0.0/0", "::/0"}
CONVERTER = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def inbound_paths() -> dict[str, tuple[str, str]]:
    """{a concrete path: (endpoint, method)} for every URL rule of the inbound blueprint, each
    variable part filled with every value an `any(...)` converter allows, or a sample segment,
    and every route the app subscribes the sidecar to."""
    from webapp.app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DAPR_GRPC_PORT": 1, "DAPR_HTTP_PORT": 1})
    adapter = app.url_map.bind("taskboard.example.com")
    out = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("inbound."):
            continue
        parts = CONVERTER.split(rule.rule)
        # split() yields: text, converter, args, name, text, ...
        texts, choices = parts[0::4], []
        for converter, args in zip(parts[1::4], parts[2::4]):
            if converter == "any":
                choices.append([a.strip().strip("'\"") for a in args.split(",")])
            else:
                choices.append(["sample"])
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        for values in itertools.product(*choices):
            path = texts[0] + "".join(v + t for v, t in zip(values, texts[1:]))
            assert adapter.match(path, method=method)[0] == rule.endpoint, (rule.rule, path)
            out[path] = (rule.endpoint, method)
    with app.test_request_context():
        from webapp.background import subscriptions
        for route in {s["route"] for s in subscriptions()}:  # where the sidecar delivers events
            out[route] = (adapter.match(route, method="POST")[0], "POST")
    return out


def prefix_matches(prefix: str, path: str) -> bool:
    """Kubernetes `pathType: Prefix`: element-wise on `/`-separated segments."""
    prefix = prefix.rstrip("/")
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def test_inbound_paths_cover_the_routes_dapr_calls():
    paths = inbound_paths()
    for expected in ("/dapr/subscribe", "/events/task-events", "/events/dead-letters", "/job/sample",
                     "/cron", "/relay"):
        assert expected in paths, sorted(paths)


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_ingress_blocks_every_inbound_dapr_route(rendered, overlay):
    ingresses = by_kind(rendered[overlay], "Ingress")
    deny = ingresses.pop("taskboard-dapr-routes")
    assert set(deny["metadata"]["annotations"]["nginx.ingress.kubernetes.io/denylist-source-range"]
               .split(",")) == DENY_ALL
    served_hosts = {rule["host"] for ing in ingresses.values() for rule in ing["spec"]["rules"]}
    blocked = {rule["host"]: [p for p in rule["http"]["paths"]] for rule in deny["spec"]["rules"]}
    assert served_hosts and served_hosts <= blocked.keys(), f"hosts served but not blocked: {served_hosts - blocked.keys()}"
    for host in served_hosts:
        assert all(p["pathType"] == "Prefix" for p in blocked[host])
        prefixes = [p["path"] for p in blocked[host]]
        assert "/" not in prefixes  # the pages stay reachable
        uncovered = [path for path in inbound_paths() if not any(prefix_matches(p, path) for p in prefixes)]
        assert not uncovered, f"{host}: inbound Dapr routes reachable from outside: {uncovered}"


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_app_metrics_are_scraped_from_the_pods_only(rendered, overlay):
    docs = rendered[overlay]
    services = by_kind(docs, "Service").values()
    policies = by_kind(docs, "NetworkPolicy").values()
    for app_id, dep in app_deployments(docs).items():
        c = container(dep)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports["metrics"] == APP_METRICS_PORT
        assert env_of(c)["TASKBOARD_METRICS_PORT"]["value"] == str(APP_METRICS_PORT)
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        assert (ann["prometheus.io/scrape"], ann["prometheus.io/port"], ann["prometheus.io/path"]) == \
            ("true", str(APP_METRICS_PORT), "/metrics"), app_id
        labels = dep["spec"]["template"]["metadata"]["labels"]
        for svc in services:
            if all(labels.get(k) == v for k, v in svc["spec"].get("selector", {}).items()):
                targets = {p.get("targetPort") for p in svc["spec"]["ports"]}
                assert not targets & {"metrics", APP_METRICS_PORT}, f"Service {svc['metadata']['name']} exposes metrics"
        admitted = [rule["from"] for p in policies
                    if all(labels.get(k) == v for k, v in p["spec"]["podSelector"]["matchLabels"].items())
                    for rule in p["spec"]["ingress"]
                    if APP_METRICS_PORT in {port["port"] for port in rule["ports"]}]
        assert admitted == [[{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]], \
            f"{app_id}: the metrics port admits {admitted}"
