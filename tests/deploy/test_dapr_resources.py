"""The cluster's Dapr resources: each validates strictly against the CRD of the pinned Dapr runtime
and each component's metadata against its components-contrib spec; they agree with the local ones
(components/*.yaml) and with the apps' configuration: names, scopes, app-ids, resiliency, secrets."""

from __future__ import annotations

import re

import jsonschema
import pytest

from webapp.config import DEFAULTS

from .conftest import RENDERINGS, ROOT
from .manifests import app_deployments, by_kind, dapr_docs, load_yaml_dir

DAPR_API = "dapr.io/v1alpha1"

# Metadata Dapr itself reads from any component of a building block, so absent from
# components-contrib's per-component metadata.yaml.
DAPR_LEVEL_METADATA = {
    "state": {"keyPrefix", "actorStateStore", "outboxPublishPubsub", "outboxPublishTopic",
              "outboxPubsub", "outboxDiscardWhenMissingState"},
    "pubsub": {"consumerID", "allowedTopics", "publishingScopes", "subscriptionScopes", "protectedTopics"},
    "bindings": {"direction", "route"},
    "lock": set(),
    "secretstores": set(),
}
# Binding metadata the app sends with each request (webapp/notification_service/delivery.py: deliver()), so a
# component need not set it.
BINDING_REQUEST_METADATA = {"fileName", "subject"}
# Older spellings components-contrib still accepts (common/component/redis/redis.go).
LEGACY_METADATA = {"state.redis": {"maxRetries", "maxRetryBackoff"}}


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_dapr_resources_match_the_crds(rendered, crd_schemas, overlay):
    errors = []
    for doc in dapr_docs(rendered[overlay]):
        name = f"{doc['kind']}/{doc['metadata'].get('name')}"
        if doc["apiVersion"] != DAPR_API or doc["kind"] not in crd_schemas:
            errors.append(f"{name}: unknown Dapr apiVersion/kind {doc['apiVersion']} {doc['kind']}")
            continue
        if not doc["metadata"].get("name"):
            errors.append(f"{name}: metadata.name missing")
        for err in jsonschema.Draft7Validator(crd_schemas[doc["kind"]]).iter_errors(doc):
            errors.append(f"{name}: {'.'.join(map(str, err.path))}: {err.message}")
        if doc["kind"] == "Component":
            spec = doc.get("spec", {})
            if not re.fullmatch(r"[a-z]+\.[a-z0-9.]+", spec.get("type", "")):
                errors.append(f"{name}: spec.type {spec.get('type')!r}")
            if not re.fullmatch(r"v[0-9]+", spec.get("version", "")):
                errors.append(f"{name}: spec.version {spec.get('version')!r}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_component_metadata_matches_components_contrib(rendered, component_specs, overlay):
    errors = []
    for comp in by_kind(rendered[overlay], "Component").values():
        name, ctype, version = comp["metadata"]["name"], comp["spec"]["type"], comp["spec"]["version"]
        spec = component_specs.get((ctype, version))
        if spec is None:
            errors.append(f"{name}: no component {ctype} {version} in components-contrib")
            continue
        block = ctype.split(".", 1)[0]
        known = set(spec["fields"]) | DAPR_LEVEL_METADATA.get(block, set()) | LEGACY_METADATA.get(ctype, set())
        uses_secret = False
        for item in comp["spec"].get("metadata") or []:
            field = item["name"]
            sources = [k for k in ("value", "secretKeyRef", "envRef") if k in item]
            if len(sources) != 1:
                errors.append(f"{name}.{field}: exactly one of value/secretKeyRef/envRef, got {sources}")
            if "envRef" in item:
                errors.append(f"{name}.{field}: envRef reads daprd's environment, which the injector does not set")
            if field not in known:
                errors.append(f"{name}.{field}: not a metadata field of {ctype} {version}")
                continue
            info = spec["fields"].get(field)
            if info and info["sensitive"] and "value" in item and item["value"] not in ("", None):
                errors.append(f"{name}.{field}: sensitive; use secretKeyRef, not a literal value")
            if info and "value" in item and info["allowed"] and not info["any"] \
                    and str(item["value"]) not in info["allowed"]:
                errors.append(f"{name}.{field}: {item['value']!r} not in {sorted(info['allowed'])}")
            if "value" in item and not isinstance(item["value"], str):
                errors.append(f"{name}.{field}: quote the value ({item['value']!r}) so it stays a string")
            if "secretKeyRef" in item:
                uses_secret = True
                if not item["secretKeyRef"].get("name") or not item["secretKeyRef"].get("key"):
                    errors.append(f"{name}.{field}: secretKeyRef needs name and key")
        given = {item["name"] for item in comp["spec"].get("metadata") or []}
        per_request = BINDING_REQUEST_METADATA if block == "bindings" else set()
        for field in sorted(spec["required"] - given - per_request):
            errors.append(f"{name}: required metadata {field} of {ctype} missing")
        if uses_secret and comp.get("auth", {}).get("secretStore") != "kubernetes":
            errors.append(f"{name}: secretKeyRef without auth.secretStore: kubernetes")
    assert not errors, "\n".join(errors)


LOCAL = load_yaml_dir(ROOT / "components")


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_every_local_dapr_resource_exists_in_the_cluster_with_the_same_scopes(rendered, overlay):
    cluster = {(d["kind"], d["metadata"]["name"]): d for d in dapr_docs(rendered[overlay])}
    errors = []
    for local in LOCAL:
        key = (local["kind"], local["metadata"]["name"])
        remote = cluster.get(key)
        if remote is None:
            errors.append(f"{key[0]}/{key[1]} (components/) has no counterpart in deploy/dapr")
            continue
        if sorted(local.get("scopes") or []) != sorted(remote.get("scopes") or []):
            errors.append(f"{key[0]}/{key[1]}: scopes {local.get('scopes')} locally, {remote.get('scopes')} here")
        if local["kind"] == "Component":
            lt, rt = local["spec"]["type"], remote["spec"]["type"]
            if lt.split(".")[0] != rt.split(".")[0]:
                errors.append(f"Component/{key[1]}: building block {lt} locally, {rt} here")
            if lt == rt:
                # Same component: the behaviour settings (literal values) must agree;
                # connection settings (envRef locally) differ by design.
                remote_values = {m["name"]: m.get("value") for m in remote["spec"].get("metadata") or []}
                for m in local["spec"].get("metadata") or []:
                    if "value" in m and remote_values.get(m["name"]) != m["value"]:
                        errors.append(f"Component/{key[1]}.{m['name']}: {m['value']!r} locally, "
                                      f"{remote_values.get(m['name'])!r} here")
    assert not errors, "\n".join(errors)


def test_resiliency_has_the_local_policies(rendered, crd_schemas):
    """Same policies and targets as components/resiliency.yaml, less fields Dapr does not have."""
    schema = crd_schemas["Resiliency"]

    def known_only(value, sch):
        if isinstance(value, dict) and isinstance(sch, dict):
            props = sch.get("properties")
            if props is not None:
                return {k: known_only(v, props[k]) for k, v in value.items() if k in props}
            if isinstance(sch.get("additionalProperties"), dict):
                return {k: known_only(v, sch["additionalProperties"]) for k, v in value.items()}
        return value

    for local in (d for d in LOCAL if d["kind"] == "Resiliency"):
        for overlay in RENDERINGS:
            remote = by_kind(rendered[overlay], "Resiliency")[local["metadata"]["name"]]
            assert remote["spec"] == known_only(local["spec"], schema["properties"]["spec"]), overlay


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_app_ids_components_and_configuration_agree(rendered, overlay):
    docs = rendered[overlay]
    apps = app_deployments(docs)
    app_ids = set(apps)
    components = by_kind(docs, "Component")
    for ref in ("STATE_STORE", "PUBSUB", "SECRET_STORE"):
        assert DEFAULTS[ref] in components, f"{ref}={DEFAULTS[ref]} missing"
    # Every scope names a deployed app-id.
    for doc in dapr_docs(docs):
        assert set(doc.get("scopes") or []) <= app_ids, f"{doc['kind']}/{doc['metadata']['name']}: unknown app-id in scopes"
    # /readyz of each app needs its REQUIRED_COMPONENTS loaded in its sidecar.
    for app_id, names in required_components().items():
        for name in names:
            assert name in components, f"{app_id} needs component {name}"
            scopes = components[name].get("scopes")
            assert scopes is None or app_id in scopes, f"{name} is not scoped to {app_id}, whose /readyz needs it"
    # Each sidecar's configuration exists.
    configs = by_kind(docs, "Configuration")
    for app_id, dep in apps.items():
        assert dep["spec"]["template"]["metadata"]["annotations"]["dapr.io/config"] in configs, app_id
    config = configs["taskboard-config"]["spec"]
    assert config["tracing"]["otel"]["endpointAddress"] and config["tracing"]["otel"]["protocol"] in ("grpc", "http")
    assert 0 < float(config["tracing"]["samplingRate"]) <= 1
    assert config["metrics"]["enabled"] is True
    # Secrets: the apps may read the Flask key through the secret store, and the RBAC lets the sidecar.
    scopes = {s["storeName"]: s for s in config["secrets"]["scopes"]}
    assert DEFAULTS["SECRET_KEY_NAME"] in scopes[DEFAULTS["SECRET_STORE"]]["allowedSecrets"]
    assert components[DEFAULTS["SECRET_STORE"]]["spec"]["type"] == "secretstores.kubernetes"
    role = by_kind(docs, "Role")["taskboard-secret-reader"]
    assert DEFAULTS["SECRET_KEY_NAME"] in role["rules"][0]["resourceNames"]
    binding = by_kind(docs, "RoleBinding")["taskboard-secret-reader"]
    sa = apps["taskboard"]["spec"]["template"]["spec"]["serviceAccountName"]
    assert {"kind": "ServiceAccount", "name": sa, "namespace": binding["metadata"]["namespace"]} in binding["subjects"]
    # Service invocation: taskboard may POST the notify method, in this namespace.
    acl = config["accessControl"]
    policy = {p["appId"]: p for p in acl["policies"]}["taskboard"]
    assert policy["namespace"] == configs["taskboard-config"]["metadata"]["namespace"]
    assert {"name": f"/{DEFAULTS['NOTIFY_METHOD']}", "httpVerb": ["POST"], "action": "allow"} in policy["operations"]
    assert DEFAULTS["NOTIFY_APP_ID"] in app_ids


@pytest.mark.parametrize("overlay", RENDERINGS)
def test_bindings_fit_how_the_app_uses_them(rendered, component_specs, overlay):
    components = by_kind(rendered[overlay], "Component")
    delivery = components[DEFAULTS["NOTIFY_BINDING"]]
    spec = component_specs[(delivery["spec"]["type"], delivery["spec"]["version"])]["binding"]
    meta = {m["name"]: m.get("value") for m in delivery["spec"]["metadata"]}
    assert spec.get("output") and meta.get("direction") == "output"
    assert DEFAULTS["NOTIFY_BINDING_OPERATION"] in {op["name"] for op in spec["operations"]}
    assert delivery["scopes"] == [DEFAULTS["NOTIFY_APP_ID"]]
    for comp in components.values():
        if comp["spec"]["type"] == "bindings.cron":
            assert {m["name"]: m.get("value") for m in comp["spec"]["metadata"]}.get("direction") == "input"


def required_components() -> dict[str, set[str]]:
    """{app-id: components its /readyz waits for}, as each app factory configures it."""
    from webapp.notification_service import create_app as notifier_app

    def names(value) -> set[str]:
        return {c for c in str(value).split(",") if c}

    return {"taskboard": names(DEFAULTS["REQUIRED_COMPONENTS"]),
            "notification-service": names(notifier_app({"SECRET_KEY": "x"}).config["REQUIRED_COMPONENTS"])}
