"""Rendering: every overlay and variant renders with kustomize into a complete, namespaced set that
validates strictly (unknown fields are errors, as with `kubectl apply`'s default server-side
validation) against the Kubernetes schemas of the oldest and newest supported versions
(kubernetes-validate); the alternative components each appear in some rendering."""

from __future__ import annotations

import copy
import re
import subprocess

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

from webapp.config import DEFAULTS

from .conftest import DEPLOY, RENDERINGS, ROOT
from .manifests import APP_PORTS, APPS, NAMESPACE, app_deployments, by_kind, container, load_yaml_dir

# Oldest Kubernetes minor this deployment supports, and the newest the schemas know.
K8S_VERSIONS = ("1.31", kv_utils.major_minor(kv_utils.latest_version()))


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
    assert set(app_deployments(docs)) == set(APPS) == set(APP_PORTS)


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
