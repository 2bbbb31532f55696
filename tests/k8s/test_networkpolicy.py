"""NetworkPolicy enforced by kube-network-policies (deploy/local-cluster/addons/netpol): connections the policies
of deploy/k8s/base/networkpolicy.yaml do not admit are refused between pods, the ones they admit go through, and
a pod no policy selects stays reachable (the refusals are the policies' doing, not a broken network).

Probes run inside pods (`kubectl exec`): the node's own root traffic is never judged (kubelet probes, and these
tests' other connections to Services)."""

from __future__ import annotations

import pytest

from .conftest import NS, kube_json, kubectl, pods

PROBE = ("import socket,sys\n"
         "s=socket.socket(); s.settimeout(3)\n"
         "try:\n s.connect((sys.argv[1], int(sys.argv[2]))); print('CONNECTED')\n"
         "except OSError as e:\n print('REFUSED', e)\n")


def running(app: str) -> dict:
    """A running, not terminating pod of one app."""
    return next(p for p in pods(f"app.kubernetes.io/name={app}")
                if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"))


def probe(from_app: str, container: str, to_app: str, port: int) -> str:
    """Open a TCP connection from a pod of one app to a pod of another (by pod address); CONNECTED or REFUSED."""
    source, target = running(from_app), running(to_app)
    return kubectl("-n", NS, "exec", source["metadata"]["name"], "-c", container, "--",
                   "python", "-c", PROBE, target["status"]["podIP"], str(port)).strip()


def test_the_enforcing_controller_runs_on_the_node(cluster):
    names = {p["metadata"]["name"] for p in kube_json("-n", NS, "get", "networkpolicy")["items"]}
    assert names == {"taskboard", "notification-service"}
    ds = kube_json("-n", "kube-system", "get", "daemonset", "kube-network-policies")
    assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] == 1, ds["status"]


@pytest.mark.parametrize("to_app, port", [
    ("notification-service", 8001),   # its app port: nobody but its own sidecar (over loopback)
    ("notification-service", 50002),  # its sidecar's invocation port: only pods with a Dapr sidecar
    ("taskboard", 8000),              # taskboard's app port: only the ingress controller
])
def test_a_pod_the_policies_do_not_admit_is_refused(cluster, to_app, port):
    out = probe("webhook-sink", "sink", to_app, port)
    assert out.startswith("REFUSED"), out


def test_a_pod_with_a_sidecar_reaches_the_other_apps_sidecar_but_not_its_app_port(cluster):
    assert probe("taskboard", "taskboard", "notification-service", 50002) == "CONNECTED"
    out = probe("taskboard", "taskboard", "notification-service", 8001)
    assert out.startswith("REFUSED"), out


def test_a_pod_no_policy_selects_stays_reachable(data_tier):
    assert probe("webhook-sink", "sink", *data_tier.store) == "CONNECTED"
