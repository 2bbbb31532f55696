"""Prometheus in namespace monitoring (deploy/local-cluster/config/observability.yaml) scrapes both apps' metrics
ports (9464) and their sidecars' (9090) — through the NetworkPolicies, which admit that namespace — and answers
queries for the apps' request rate and the sidecars' call latency."""

from __future__ import annotations

import http.client
import json
import urllib.parse

from .conftest import kube_json
from .conftest import eventually

QUERIES = {
    # requests per second the apps answered, per app (the apps' own histogram)
    "request rate": 'sum by (app) (rate(taskboard_http_request_duration_seconds_count[1m]))',
    # p95 latency (ms) of the calls each app makes to its sidecar (Dapr's gRPC API: state, publish, invoke)
    "sidecar call latency": 'histogram_quantile(0.95, sum by (app, le) '
                            '(rate(dapr_grpc_io_server_server_latency_bucket[5m])))',
}


def prometheus(path: str, **params: str) -> dict:
    """GET Prometheus's HTTP API at its Service; the `data` of a success."""
    svc = kube_json("-n", "monitoring", "get", "service", "prometheus")
    conn = http.client.HTTPConnection(svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["port"], timeout=10)
    try:
        conn.request("GET", f"{path}?{urllib.parse.urlencode(params)}")
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 200 and body["status"] == "success", body
    return body["data"]


def healthy_targets() -> set[tuple[str, str]]:
    """(app, container) of every target Prometheus scraped successfully."""
    return {(t["labels"].get("app"), t["labels"].get("container"))
            for t in prometheus("/api/v1/targets", state="active")["activeTargets"] if t["health"] == "up"}


def test_both_apps_and_both_sidecars_are_scraped(cluster):
    expected = {("taskboard", "taskboard"), ("taskboard", "daprd"),
                ("notification-service", "notification-service"), ("notification-service", "daprd")}
    eventually(lambda: expected <= healthy_targets(), timeout=90, interval=2)


def test_request_rate_and_sidecar_call_latency_per_app(web_user):
    for n in range(3):  # traffic through both apps: each completion invokes notification-service
        web_user.complete(web_user.create_task(f"Metrics {n}"))

    def answers() -> dict[str, dict[str, float]]:
        out = {}
        for name, query in QUERIES.items():
            result = prometheus("/api/v1/query", query=query)["result"]
            out[name] = {r["metric"].get("app"): float(r["value"][1]) for r in result
                         if r["value"][1] not in ("NaN", "+Inf")}
        return out

    def both_apps_have_numbers() -> dict | None:
        got = answers()
        ok = all({"taskboard", "notification-service"} <= set(got[name]) for name in QUERIES)
        return got if ok and got["request rate"]["taskboard"] > 0 else None

    got = eventually(both_apps_have_numbers, timeout=120, interval=3)
    print("\n" + "\n".join(f"{name}: {QUERIES[name]}\n  -> {json.dumps(got[name])}" for name in QUERIES))
    assert all(v >= 0 for values in got.values() for v in values.values())
