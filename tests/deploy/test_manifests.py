"""The production deployment (deploy/), checked with real tools and upstream schemas.

- every overlay renders with kustomize and validates, strictly (unknown fields are
  errors, as with `kubectl apply`'s default server-side validation), against the
  Kubernetes schemas of the oldest and newest supported versions (kubernetes-validate);
- every Dapr resource validates strictly against the CRD of the pinned Dapr runtime,
  every component's metadata against its components-contrib spec, every dapr.io/*
  annotation against the sidecar injector's table;
- the cluster's Dapr resources agree with the local ones (components/*.yaml) and with
  the app's configuration: names, scopes, app-ids, resiliency, secrets;
- the Dockerfile passes hadolint and its files are enough to start both apps.
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

from .conftest import DEPLOY, RENDERINGS, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import devstack  # noqa: E402  (the app-ids and their WSGI targets)
from webapp.config import DEFAULTS  # noqa: E402  (component names, secret name, notify target)

NAMESPACE = "taskboard"
PROD_OVERLAYS = tuple(r for r in RENDERINGS if r.startswith("prod"))
APP_PORTS = {"taskboard": 8000, "notification-service": 8001}
APP_METRICS_PORT = 9464  # gunicorn.conf.py's default TASKBOARD_METRICS_PORT
# Oldest Kubernetes minor this deployment supports, and the newest the schemas know.
K8S_VERSIONS = ("1.31", kv_utils.major_minor(kv_utils.latest_version()))
DAPR_API = "dapr.io/v1alpha1"
DAPR_KINDS = {"Component", "Configuration", "Resiliency", "Subscription", "HTTPEndpoint"}
DAPR_SIDECAR_PORTS = {"internal_grpc": 50002, "metrics": 9090}

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
# Binding metadata the app sends with each request (webapp/notifier: deliver()), so a
# component need not set it.
BINDING_REQUEST_METADATA = {"fileName", "subject"}
# Older spellings components-contrib still accepts (common/component/redis/redis.go).
LEGACY_METADATA = {"state.redis": {"maxRetries", "maxRetryBackoff"}}


# -- helpers -----------------------------------------------------------------------------------

def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def dapr_docs(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["apiVersion"].startswith("dapr.io/")]


def app_deployments(docs: list[dict]) -> dict[str, dict]:
    """{app-id: Deployment} for the Deployments with a Dapr sidecar."""
    out = {}
    for dep in by_kind(docs, "Deployment").values():
        ann = dep["spec"]["template"]["metadata"].get("annotations", {})
        if ann.get("dapr.io/enabled") == "true":
            out[ann["dapr.io/app-id"]] = dep
    return out


def container(dep: dict) -> dict:
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{dep['metadata']['name']}: one app container expected (daprd is injected)"
    return containers[0]


def env_of(c: dict) -> dict[str, dict]:
    return {e["name"]: e for e in c.get("env", [])}


def load_yaml_dir(path: Path) -> list[dict]:
    docs = []
    for f in sorted(path.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    return docs


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity (CPU or memory) as a number of base units."""
    text = str(value)
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    assert m and (m.group(2) in units or not m.group(2)), f"not a quantity: {text!r}"
    return float(m.group(1)) * units.get(m.group(2), 1)


def go_duration(text: str) -> float:
    """Seconds in a Go duration string such as 25s or 1m30s."""
    parts = re.findall(r"([0-9.]+)(ms|s|m|h)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a Go duration: {text!r}"
    return sum(float(n) * {"ms": 1e-3, "s": 1, "m": 60, "h": 3600}[u] for n, u in parts)


def strict_schema(schema: dict) -> dict:
    """A CRD's openAPIV3Schema as JSON Schema that rejects fields the CRD does not declare.

    The API server prunes unknown fields of a structural schema, and `kubectl apply`
    (strict field validation by default) reports them as errors; this does the same.
    """
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return out
    if "properties" in out:
        out["properties"] = {k: strict_schema(v) for k, v in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(out["additionalProperties"])
    if "items" in out:
        out["items"] = strict_schema(out["items"])
    return out


# -- Dapr reference data (from the pinned runtime's Go modules, via deploy/tools.sh) -------------

@pytest.fixture(scope="session")
def crd_schemas(tools) -> dict[str, dict]:
    """{kind: strict JSON schema} of the Dapr CRDs at version v1alpha1."""
    out = {}
    for f in sorted((tools["DAPR_REFERENCE"] / "crds").glob("*.yaml")):
        for crd in yaml.safe_load_all(f.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            for version in crd["spec"]["versions"]:
                if version["name"] == "v1alpha1":
                    out[crd["spec"]["names"]["kind"]] = strict_schema(version["schema"]["openAPIV3Schema"])
    assert {"Component", "Configuration", "Resiliency"} <= out.keys(), f"Dapr CRDs incomplete: {sorted(out)}"
    return out


@pytest.fixture(scope="session")
def injector_annotations(tools) -> dict[str, str]:
    """{annotation: Go type} from the sidecar injector's SidecarConfig struct tags."""
    source = (tools["DAPR_REFERENCE"] / "injector-sidecar.go").read_text()
    table = {m.group(3): m.group(2) for m in
             re.finditer(r"^\s*(\w+)\s+(\*?\w+)\s+`annotation:\"(dapr\.io/[^\"]+)\"", source, re.M)}
    assert "dapr.io/app-id" in table and len(table) > 40, "cannot read the injector's annotation table"
    return table


@pytest.fixture(scope="session")
def component_specs(tools) -> dict[tuple[str, str], dict]:
    """{(type, version): {"fields", "required", "binding"}} from components-contrib's metadata.yaml files."""
    out = {}
    for f in (tools["DAPR_REFERENCE"] / "components").rglob("metadata.yaml"):
        try:
            spec = yaml.safe_load(f.read_text())
        except yaml.YAMLError:
            continue  # a few upstream files are not valid YAML; none of the components used here
        if not isinstance(spec, dict) or "type" not in spec:
            continue
        fields: dict[str, dict] = {}
        required = {f["name"] for f in spec.get("metadata") or [] if f.get("required")}
        groups = [spec.get("metadata") or []]
        for key in ("authenticationProfiles", "builtinAuthenticationProfiles"):
            groups += [p.get("metadata") or [] for p in spec.get(key) or []]
        for group in groups:
            for field in group:
                merged = fields.setdefault(field["name"], {"sensitive": False, "allowed": set(), "any": False})
                merged["sensitive"] |= bool(field.get("sensitive"))
                if field.get("allowedValues"):
                    merged["allowed"] |= {str(v) for v in field["allowedValues"]}
                else:
                    merged["any"] = True
        out[(f"{spec['type']}.{spec['name']}", spec["version"])] = {
            "fields": fields, "required": required, "binding": spec.get("binding") or {}}
    assert ("state.redis", "v1") in out, "components-contrib metadata specs missing"
    return out


# -- tools -------------------------------------------------------------------------------------

def test_tools_are_the_pinned_versions(tools):
    pinned = re.search(r'KUSTOMIZE_VERSION="\$\{KUSTOMIZE_VERSION:-(v[0-9.]+)\}"', (DEPLOY / "tools.sh").read_text())
    version = subprocess.run([str(tools["KUSTOMIZE"]), "version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == pinned.group(1)
    hadolint = subprocess.run([str(tools["HADOLINT"]), "--version"], capture_output=True, text=True, check=True)
    assert "2.15.1" in hadolint.stdout
    dapr_version = re.search(r"github.com/dapr/dapr (v\S+)", (ROOT / "tools/dapr/go.mod").read_text()).group(1)
    assert f"dapr {dapr_version}" in (tools["DAPR_REFERENCE"] / "VERSIONS").read_text()


# -- rendering and Kubernetes schemas ------------------------------------------------------------

@pytest.mark.parametrize("overlay", RENDERINGS)
def test_overlay_renders_a_complete_namespaced_set(rendered, overlay):
    docs = rendered[overlay]
    ids = [(d["apiVersion"], d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs]
    assert len(ids) == len(set(ids)), "duplicate resources"
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service", "Ingress",
            "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
            "Component", "Configuration", "Resiliency"} <= kinds
    assert set(by_kind(docs, "Namespace")) == {NAMESPACE}
    stray = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
             if d["kind"] != "Namespace" and d["metadata"].get("namespace") != NAMESPACE]
    assert not stray, f"resources outside namespace {NAMESPACE}: {stray}"
    assert set(app_deployments(docs)) == set(devstack.APPS) == set(APP_PORTS)


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", RENDERINGS)
def test_kubernetes_resources_match_the_schemas(rendered, overlay, k8s_version):
    errors = []
    for doc in rendered[overlay]:
        if doc["apiVersion"].startswith("dapr.io/"):
            continue  # checked against Dapr's own CRDs below
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
        except kubernetes_validate.ValidationError as err:
            errors.append(f"{name}: {'.'.join(map(str, err.path))}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError as err:
            errors.append(f"{name}: {err.message}")
    assert not errors, "\n".join(errors)


def test_strict_validation_catches_mistakes(rendered, crd_schemas):
    """The validators used here do reject an unknown field and a wrong type."""
    docs = rendered["prod"]
    dep = copy.deepcopy(by_kind(docs, "Deployment")["taskboard"])
    container(dep)["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, K8S_VERSIONS[0], strict=True)
    comp = copy.deepcopy(by_kind(docs, "Component")["statestore"])
    comp["spec"]["auth"] = {"secretStore": "kubernetes"}  # belongs at the top level
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(comp, crd_schemas["Component"])
    res = copy.deepcopy(by_kind(docs, "Resiliency")["taskboard-resiliency"])
    res["spec"]["policies"]["retries"]["stateRetry"]["initialInterval"] = "100ms"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(res, crd_schemas["Resiliency"])


# -- Dapr resources ------------------------------------------------------------------------------

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
    for ref in ("STATE_STORE", "PUBSUB", "SECRET_STORE", "LOCK_STORE"):
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
    from webapp.notifier import create_app as notifier_app

    def names(value) -> set[str]:
        return {c for c in str(value).split(",") if c}

    return {"taskboard": names(DEFAULTS["REQUIRED_COMPONENTS"]),
            "notification-service": names(notifier_app({"SECRET_KEY": "x"}).config["REQUIRED_COMPONENTS"])}


# -- the apps' Deployments -----------------------------------------------------------------------

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
        assert ann.get("dapr.io/disable-builtin-k8s-secret-store", "false") == "false", \
            "components resolve secretKeyRef through the built-in kubernetes store"
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
        assert c["command"] == ["gunicorn", "-c", "gunicorn.conf.py", devstack.APPS[app_id]]
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


def test_every_alternative_component_is_rendered_somewhere(rendered):
    """Each kustomize Component in deploy/dapr appears, as written, in some rendering."""
    everything = [d for docs in rendered.values() for d in docs]
    for kustomization in sorted((DEPLOY / "dapr").glob("*/kustomization.yaml")):
        assert yaml.safe_load(kustomization.read_text())["kind"] == "Component", kustomization
        for doc in load_yaml_dir(kustomization.parent):
            if doc["apiVersion"].startswith("kustomize.config.k8s.io/"):
                continue
            assert any(d["kind"] == doc["kind"] and d["metadata"]["name"] == doc["metadata"]["name"]
                       and d.get("spec") == doc.get("spec") for d in everything), \
                f"{kustomization.parent.name}: {doc['kind']}/{doc['metadata']['name']} is in no rendering"


def test_switching_state_store_and_broker_changes_only_dapr_components(rendered):
    """overlays/prod-postgres-kafka differs from overlays/prod in the statestore and pubsub components only."""
    def keyed(docs):
        return {(d["kind"], d["metadata"]["name"]): d for d in docs}

    prod, alt = keyed(rendered["prod"]), keyed(rendered["prod-postgres-kafka"])
    assert prod.keys() == alt.keys()
    changed = sorted(k for k in prod if prod[k] != alt[k])
    assert changed == [("Component", DEFAULTS["PUBSUB"]), ("Component", DEFAULTS["STATE_STORE"])]
    assert alt[("Component", DEFAULTS["STATE_STORE"])]["spec"]["type"] == "state.postgresql"
    assert alt[("Component", DEFAULTS["STATE_STORE"])]["spec"]["version"] == "v2"
    assert alt[("Component", DEFAULTS["PUBSUB"])]["spec"]["type"] == "pubsub.kafka"


# -- Service, Ingress, autoscaling, disruption budgets, network policies --------------------------

@pytest.mark.parametrize("overlay", RENDERINGS)
def test_traffic_and_availability(rendered, overlay):
    docs = rendered[overlay]
    apps = app_deployments(docs)
    web = apps["taskboard"]
    web_labels = web["spec"]["template"]["metadata"]["labels"]
    services = by_kind(docs, "Service")

    def selects(selector: dict, labels: dict) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    # Service -> taskboard pods, on the named app port.
    svc = services["taskboard"]
    assert selects(svc["spec"]["selector"], web_labels)
    assert {p["targetPort"] for p in svc["spec"]["ports"]} == {"http"}
    # Ingress: nginx, TLS for every host, backends are that Service; metrics never routed.
    ingresses = by_kind(docs, "Ingress")
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
    blocked = {p["path"] for p in ingresses["taskboard-dapr-routes"]["spec"]["rules"][0]["http"]["paths"]}
    assert {"/dapr", "/events", "/job"} <= blocked
    # HPA (autoscaling/v2) owns taskboard's replica count.
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["taskboard"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "taskboard"}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert "replicas" not in web["spec"], "taskboard's replicas belong to the HPA"
    if overlay in PROD_OVERLAYS:
        assert hpa["spec"]["minReplicas"] >= 2
    # A PodDisruptionBudget per app, selecting its pods.
    pdbs = by_kind(docs, "PodDisruptionBudget").values()
    for app_id, dep in apps.items():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert [p for p in pdbs if selects(p["spec"]["selector"]["matchLabels"], labels)], app_id
    # NetworkPolicy: each app's pods isolated for ingress; the app port only from the
    # ingress controller (taskboard) or from nobody (notification-service); the
    # sidecar's metrics port never from the ingress controller.
    policies = by_kind(docs, "NetworkPolicy").values()
    for app_id, dep in apps.items():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if selects(p["spec"]["podSelector"].get("matchLabels", {}), labels)]
        assert mine and all("Ingress" in p["spec"]["policyTypes"] for p in mine), app_id
        for policy in mine:
            for rule in policy["spec"].get("ingress", []):
                ports = {p["port"] for p in rule.get("ports", [])}
                assert ports, f"{app_id}: a rule without ports opens every port"
                peers = rule.get("from", [])
                assert peers, f"{app_id}: a rule without peers admits everyone"
                from_ingress = any(p.get("namespaceSelector", {}).get("matchLabels", {})
                                   .get("kubernetes.io/metadata.name") == "ingress-nginx" for p in peers)
                if APP_PORTS[app_id] in ports or "http" in ports:
                    assert app_id == "taskboard" and from_ingress and len(peers) == 1, f"{app_id}: app port"
                if from_ingress:
                    assert ports == {APP_PORTS[app_id]}, f"{app_id}: ingress controller may reach only the app port"
                if DAPR_SIDECAR_PORTS["internal_grpc"] in ports:
                    assert all(p.get("podSelector", {}).get("matchLabels") == {"dapr.io/sidecar-injected": "true"}
                               for p in peers), f"{app_id}: sidecar port open beyond Dapr pods"


# -- the image --------------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    out, pending = [], ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        pending += (" " if pending else "") + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            word, _, rest = pending.partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    return out


def dockerfile_user() -> int:
    users = [args for ins, args in dockerfile_instructions() if ins == "USER"]
    return int(users[-1].split(":")[0])


def dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """.dockerignore as (negated, regex), with Docker's semantics (filepath.Match plus **)."""
    out = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip().lstrip("/"))
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex, i = regex + pattern[i:end + 1], end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        out.append((negated, re.compile(regex)))
    return out


def ignored(path: str, patterns) -> bool:
    """Whether the build context leaves out `path` (relative, POSIX): the last matching pattern wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for negated, regex in patterns:
        if any(regex.fullmatch(c) for c in candidates):
            result = not negated
    return result


def test_dockerfile_passes_hadolint(tools):
    proc = subprocess.run([str(tools["HADOLINT"]), "--no-color", str(DEPLOY / "Dockerfile")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_is_pinned_slim_non_root_and_serves_both_apps(rendered):
    instructions = dockerfile_instructions()
    args = dict(a.split("=", 1) for ins, a in instructions if ins == "ARG" and "=" in a)
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], a.split()[0]) for ins, a in instructions if ins == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.11\.[0-9]+-slim-bookworm(@sha256:[0-9a-f]{64})?", b) for b in bases), bases
    assert dockerfile_user() >= 1000
    cmd = [a for ins, a in instructions if ins == "CMD"][-1]
    assert yaml.safe_load(cmd) == ["gunicorn", "-c", "gunicorn.conf.py", devstack.APPS["taskboard"]]
    runs = " ".join(a for ins, a in instructions if ins == "RUN")
    assert "-r /tmp/requirements.txt" in runs
    copied = {src.rstrip("/") for ins, a in instructions if ins == "COPY" and "--from" not in a
              for src in a.split()[:-1]}
    assert {"requirements.txt", "webapp", "templates", "static", "wsgi.py", "gunicorn.conf.py"} <= copied
    # Both Deployments run this image's files with the commands the Dockerfile expects.
    for dep in app_deployments(rendered["prod"]).values():
        assert container(dep)["command"][:3] == ["gunicorn", "-c", "gunicorn.conf.py"]


def test_dockerignore_keeps_the_context_to_what_the_image_copies():
    patterns = dockerignore_patterns()
    for path in (".venv", ".run", "tests", "test-artifacts", ".git", "tools", "bench", "scripts", "components",
                 "deploy", ".run/secrets.json", "webapp/__pycache__/x.cpython-311.pyc", "requirements-dev.txt"):
        assert ignored(path, patterns), f"{path} would be sent to the Docker daemon"
    for path in ("requirements.txt", "wsgi.py", "gunicorn.conf.py", "webapp/__init__.py",
                 "webapp/notifier/__init__.py", "templates/base.html", "static/style.css"):
        assert not ignored(path, patterns), f"{path} is needed by the image but ignored"


def test_image_files_start_both_apps(rendered, tmp_path):
    """Stage exactly what the Dockerfile copies (after .dockerignore) and load each app with
    `gunicorn --check-config`, using the environment of the prod Deployments."""
    patterns = dockerignore_patterns()
    workdir = [a for ins, a in dockerfile_instructions() if ins == "WORKDIR"][-1]
    app_dir = tmp_path / workdir.lstrip("/")
    app_dir.mkdir(parents=True)
    for ins, args in dockerfile_instructions():
        if ins != "COPY" or "--from" in args:
            continue
        *sources, dest = [a for a in args.split() if not a.startswith("--")]
        if dest.startswith("/"):
            continue  # outside the app directory (requirements.txt for the build stage)
        for src in sources:
            src_path = ROOT / src.rstrip("/")
            files = [src_path] if src_path.is_file() else [p for p in src_path.rglob("*") if p.is_file()]
            for f in files:
                rel = f.relative_to(ROOT).as_posix()
                if ignored(rel, patterns):
                    continue
                inner = f.name if src_path.is_file() else f.relative_to(src_path).as_posix()
                target = app_dir / dest / inner if (dest.endswith("/") or len(sources) > 1 or src_path.is_dir()) \
                    else app_dir / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, target)
    assert (app_dir / "wsgi.py").exists() and (app_dir / "webapp/__init__.py").exists()
    for app_id, dep in app_deployments(rendered["prod"]).items():
        c = container(dep)
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
        for var in c["env"]:
            env[var["name"]] = var.get("value", "dummy-secret-for-the-check")
        argv = [sys.executable, "-m", c["command"][0], "--check-config", *c["command"][1:]]
        proc = subprocess.run(argv, cwd=app_dir, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{app_id}: {' '.join(argv)}\n{proc.stdout}\n{proc.stderr}"
