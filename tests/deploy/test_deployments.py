"""The apps' Deployments: Dapr annotations the sidecar injector knows, the app containers (command,
ports, environment, probes, security context, resources) and production stricter than dev."""

from __future__ import annotations

import re

import pytest

from .conftest import RENDERINGS
from .manifests import (APP_METRICS_PORT, APP_PORTS, APPS, PROD_OVERLAYS, app_deployments, by_kind, container,
                        dockerfile_user, env_of, go_duration, quantity)

REQUIRED_ANNOTATIONS = (
    "dapr.io/enabled", "dapr.io/app-id", "dapr.io/app-port", "dapr.io/app-protocol", "dapr.io/config",
    "dapr.io/enable-app-health-check", "dapr.io/app-health-check-path", "dapr.io/block-shutdown-duration",
    "dapr.io/sidecar-cpu-request", "dapr.io/sidecar-cpu-limit", "dapr.io/sidecar-memory-request",
    "dapr.io/sidecar-memory-limit", "dapr.io/app-token-secret", "dapr.io/api-token-secret", "dapr.io/log-as-json",
)


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_dapr_annotations(rendered, injector_annotations, overlay):
    for app_id, dep in app_deployments(rendered[overlay]).items():
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        for key, value in ann.items():
            if not key.startswith("dapr.io/"):
                continue
            assert key in injector_annotations, f"{app_id}: {key} is not a Dapr injector annotation"
            go_type = injector_annotations[key].lstrip("*")
            assert isinstance(value, str), f"{app_id}: {key} must be a string"
            if go_type == "bool":
                assert value in ("true", "false"), f"{app_id}: {key}={value!r}"
            elif go_type.startswith("int"):
                assert re.fullmatch(r"-?[0-9]+", value), f"{app_id}: {key}={value!r}"
        missing = [k for k in REQUIRED_ANNOTATIONS if k not in ann]
        assert not missing, f"{app_id}: missing {missing}"
        assert ann["dapr.io/enabled"] == "true" and ann["dapr.io/app-protocol"] == "http"
        assert ann["dapr.io/enable-app-health-check"] == "true" and ann["dapr.io/app-health-check-path"] == "/healthz"
        assert ann["dapr.io/log-as-json"] == "true"
        assert int(ann["dapr.io/app-port"]) == APP_PORTS[app_id]
        assert quantity(ann["dapr.io/sidecar-cpu-request"]) <= quantity(ann["dapr.io/sidecar-cpu-limit"])
        assert quantity(ann["dapr.io/sidecar-memory-request"]) <= quantity(ann["dapr.io/sidecar-memory-limit"])
        assert ann.get("dapr.io/sidecar-seccomp-profile-type") == "RuntimeDefault"
        # A component's secretKeyRef on the `kubernetes` store is filled in by the Dapr operator (its
        # processComponentSecrets), not read by the pod; the built-in store needs the pod's API token, which
        # only taskboard keeps (its own `secretstore` component reads the Flask key).
        expected = "false" if app_id == "taskboard" else "true"
        assert ann.get("dapr.io/disable-builtin-k8s-secret-store", "false") == expected, app_id
        # Shutdown: the sidecar outlives the app's drain, and both fit in the grace period.
        block = go_duration(ann["dapr.io/block-shutdown-duration"])
        graceful = int(ann.get("dapr.io/graceful-shutdown-seconds", "5"))
        grace = dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        env = env_of(container(dep))
        drain = 5 + int(env.get("GUNICORN_GRACEFUL_TIMEOUT", {}).get("value", 30))  # preStop sleep + gunicorn
        assert block >= drain and block + graceful < grace, f"{app_id}: block {block}s, drain {drain}s, grace {grace}s"


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_app_containers(rendered, overlay):
    docs = rendered[overlay]
    accounts = by_kind(docs, "ServiceAccount")
    uid = dockerfile_user()
    for app_id, dep in app_deployments(docs).items():
        pod = dep["spec"]["template"]["spec"]
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        c = container(dep)
        # The command is the app's WSGI target, the same one `make run` starts.
        assert c["command"] == ["gunicorn", "-c", "gunicorn.conf.py", APPS[app_id]]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"http": APP_PORTS[app_id], "metrics": APP_METRICS_PORT}
        env = env_of(c)
        assert env["TASKBOARD_ENV"]["value"] == "production"
        assert env["TASKBOARD_APP_ID"]["value"] == app_id
        assert env["PORT"]["value"] == str(APP_PORTS[app_id])
        if app_id == "taskboard":
            assert env["TASKBOARD_PROXY_FIX_HOPS"]["value"] == "1"
        # The tokens come from the same Secrets the injector hands to daprd (key "token").
        for var, annotation in (("DAPR_API_TOKEN", "dapr.io/api-token-secret"),
                                ("APP_API_TOKEN", "dapr.io/app-token-secret")):
            ref = env[var]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": ann[annotation], "key": "token"}, f"{app_id}: {var}"
        # Probes: liveness on /healthz, readiness on /readyz, a startup probe first.
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert c[probe]["httpGet"]["port"] in ("http", APP_PORTS[app_id])
        # Security.
        psc, csc = pod["securityContext"], c["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["seccompProfile"]["type"] == "RuntimeDefault"
        assert psc["runAsUser"] == uid != 0
        assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
        assert csc["capabilities"]["drop"] == ["ALL"] and not csc.get("privileged")
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert pod["serviceAccountName"] in accounts
        # Resources: requests and limits for CPU and memory, requests within limits.
        res = c["resources"]
        for kind in ("cpu", "memory"):
            assert quantity(res["requests"][kind]) <= quantity(res["limits"][kind]), f"{app_id}: {kind}"
        # The image built from deploy/Dockerfile, named and tagged by the overlay.
        assert "/" in c["image"] and re.search(r":[A-Za-z0-9._-]+(@sha256:[0-9a-f]{64})?$", c["image"]), c["image"]


@pytest.mark.parametrize("overlay", PROD_OVERLAYS)
def test_production_is_pinned_and_stricter_than_dev(rendered, overlay):
    prod, dev = rendered[overlay], rendered["dev"]
    for app_id, dep in app_deployments(prod).items():
        c = container(dep)
        tag = c["image"].rsplit(":", 1)[1]
        assert re.fullmatch(r"v?[0-9]+\.[0-9]+\.[0-9]+", tag), f"{app_id}: prod image tag {tag!r} is not a release"
        assert c["imagePullPolicy"] == "IfNotPresent"
        res = c["resources"]
        assert quantity(res["requests"]["memory"]) == quantity(res["limits"]["memory"]), app_id
        dev_c = container(app_deployments(dev)[app_id])
        assert quantity(res["requests"]["cpu"]) > quantity(dev_c["resources"]["requests"]["cpu"]), app_id
        assert dep["spec"].get("replicas", 0) >= app_deployments(dev)[app_id]["spec"].get("replicas", 0)
    prod_hpa, dev_hpa = by_kind(prod, "HorizontalPodAutoscaler")["taskboard"], by_kind(dev, "HorizontalPodAutoscaler")["taskboard"]
    assert prod_hpa["spec"]["minReplicas"] > dev_hpa["spec"]["minReplicas"]
    assert prod_hpa["spec"]["maxReplicas"] > dev_hpa["spec"]["maxReplicas"]
    assert app_deployments(prod)["notification-service"]["spec"]["replicas"] >= 2
