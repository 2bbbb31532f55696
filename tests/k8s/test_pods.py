"""Every app pod 2/2 Running with the sidecar the injector added, holding a certificate sentry issued;
the Dapr control plane running as pods from its Helm chart."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import NS, kube_json, pods

DAPR_VERSION = "1.18.3"


@pytest.mark.parametrize("app, at_least", [("taskboard", 2), ("notification-service", 1)])
def test_every_app_pod_is_2_of_2_running_with_the_injected_sidecar(cluster, app, at_least):
    items = [p for p in pods(f"app.kubernetes.io/name={app}") if not p["metadata"].get("deletionTimestamp")]
    assert len(items) >= at_least
    for pod in items:
        name = pod["metadata"]["name"]
        assert pod["status"]["phase"] == "Running", name
        statuses = {c["name"]: c for c in pod["status"]["containerStatuses"]}
        assert sorted(statuses) == sorted([app, "daprd"]), name
        assert all(c["ready"] for c in statuses.values()), (name, statuses)
        # the injector added it (the Deployment has one container) and labelled the pod
        assert pod["metadata"]["labels"].get("dapr.io/sidecar-injected") == "true", name
        daprd = next(c for c in pod["spec"]["containers"] if c["name"] == "daprd")
        assert daprd["image"] == f"ghcr.io/dapr/daprd:{DAPR_VERSION}"
        env = {e["name"]: e.get("value") for e in daprd.get("env", [])}
        assert "dapr-sentry.dapr-system.svc.cluster.local" in " ".join(daprd["args"] + [str(v) for v in env.values()])


def test_dapr_control_plane_runs_from_its_chart(cluster):
    running = {}
    for pod in kube_json("-n", "dapr-system", "get", "pods")["items"]:
        assert pod["status"]["phase"] == "Running", pod["metadata"]["name"]
        assert all(c["ready"] for c in pod["status"]["containerStatuses"]), pod["metadata"]["name"]
        app = pod["metadata"]["labels"]["app"]
        running[app] = running.get(app, 0) + 1
        for c in pod["spec"]["containers"]:
            assert c["image"].endswith(f":{DAPR_VERSION}"), c["image"]
    assert running == {"dapr-operator": 1, "dapr-sentry": 1, "dapr-sidecar-injector": 1,
                       "dapr-placement-server": 3, "dapr-scheduler-server": 3}
    webhook = kube_json("get", "mutatingwebhookconfiguration", "dapr-sidecar-injector")
    assert webhook["webhooks"][0]["clientConfig"]["service"]["name"] == "dapr-sidecar-injector"


def test_sidecars_serve_mtls_with_a_certificate_from_sentry(cluster):
    """The sidecar's internal gRPC port presents a workload certificate that chains to sentry's trust
    bundle and names the app's SPIFFE identity."""
    bundle = kube_json("-n", "dapr-system", "get", "configmap", "dapr-trust-bundle")["data"]["ca.crt"]
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp, "ca.crt")
        ca.write_text(bundle)
        for app in ("taskboard", "notification-service"):
            pod = pods(f"app.kubernetes.io/name={app}")[0]
            ip = pod["status"]["podIP"]
            out = subprocess.run(["openssl", "s_client", "-connect", f"{ip}:50002", "-showcerts"],
                                 input="", capture_output=True, text=True, timeout=20).stdout
            certs = [c + "-----END CERTIFICATE-----\n"
                     for c in out.split("-----END CERTIFICATE-----")[:-1]]
            certs = [c[c.index("-----BEGIN CERTIFICATE-----"):] for c in certs]
            assert certs, out[-2000:]
            leaf, chain = Path(tmp, "leaf.pem"), Path(tmp, "chain.pem")
            leaf.write_text(certs[0])
            chain.write_text("".join(certs[1:]))
            args = ["openssl", "verify", "-CAfile", str(ca)]
            if len(certs) > 1:
                args += ["-untrusted", str(chain)]
            verified = subprocess.run([*args, str(leaf)], capture_output=True, text=True)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(leaf)],
                                  capture_output=True, text=True).stdout
            assert f"URI:spiffe://public/ns/{NS}/{app}" in text, text

