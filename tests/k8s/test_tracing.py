"""One request's trace id shows in `kubectl logs` of taskboard's container and of notification-service's
container (the invocation and the event it caused carry the W3C trace context through both sidecars), and its
trace is in Jaeger (deploy/local-cluster/config/observability.yaml) with spans of both sidecars."""

from __future__ import annotations

import http.client
import json
import secrets
import uuid

from .conftest import NS, eventually, kube_json, kubectl, pods


def app_logs(app: str) -> str:
    """Every pod's app-container log of one app, concatenated."""
    return "".join(kubectl("-n", NS, "logs", p["metadata"]["name"], "-c", app, "--since=10m")
                   for p in pods(f"app.kubernetes.io/name={app}") if p["status"].get("phase") == "Running")


def test_one_trace_id_in_both_apps_logs(web_user):
    task_id = web_user.create_task(f"Traced {uuid.uuid4().hex[:6]}")
    trace_id = secrets.token_hex(16)
    assert web_user.complete(task_id, headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}) == 302
    eventually(lambda: trace_id in app_logs("taskboard"), timeout=30)
    eventually(lambda: trace_id in app_logs("notification-service"), timeout=60)


def service_address(namespace: str, name: str) -> tuple[str, int]:
    """(ClusterIP, first port) of a Service."""
    svc = kube_json("-n", namespace, "get", "service", name)
    return svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["port"]


def jaeger_trace(trace_id: str) -> dict | None:
    """One trace as Jaeger's query API returns it (spans and the processes that sent them), or None."""
    conn = http.client.HTTPConnection(*service_address("observability", "jaeger"), timeout=10)
    try:
        conn.request("GET", f"/api/traces/{trace_id}")
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status == 404:
        return None
    assert resp.status == 200, (resp.status, body[:300])
    data = json.loads(body)["data"]
    return data[0] if data else None


def services_of(trace: dict | None) -> set[str]:
    """The service names of a trace's spans."""
    if not trace:
        return set()
    return {trace["processes"][span["processID"]]["serviceName"] for span in trace["spans"]}


def test_one_requests_trace_in_jaeger_has_spans_of_both_sidecars(web_user):
    """The sidecars export to Service otel-collector (Jaeger's OTLP receiver): the trace of one completion holds
    spans of taskboard's sidecar (the app's calls into it) and of notification-service's (the invocation it
    received and its call to its app), all under the trace id the request came in with."""
    task_id = web_user.create_task(f"Jaeger {uuid.uuid4().hex[:6]}")
    trace_id = secrets.token_hex(16)
    assert web_user.complete(task_id, headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}) == 302
    # taskboard's sidecar: the app's calls into it and the invocation it made; notification-service's sidecar:
    # the invocation it received and its app's calls into it (spans arrive in batches: wait for all four kinds)
    def span_kinds() -> list[tuple[str, str]] | None:
        trace = jaeger_trace(trace_id)
        spans = sorted((trace["processes"][s["processID"]]["serviceName"], s["operationName"])
                       for s in trace["spans"]) if trace else []
        kinds = {(svc, "api" if op.startswith("/dapr.proto.runtime.v1.Dapr/") else op) for svc, op in spans}
        wanted = {("taskboard", "api"), ("taskboard", "CallLocal/notification-service/notify"),
                  ("notification-service", "api"), ("notification-service", "CallLocal/notification-service/notify")}
        return spans if wanted <= kinds else None

    spans = eventually(span_kinds, timeout=90, interval=2)
    print(f"\ntrace {trace_id}:\n  " + "\n  ".join(f"{svc}: {op}" for svc, op in spans))
    assert all(s["traceID"] == trace_id for s in jaeger_trace(trace_id)["spans"])
