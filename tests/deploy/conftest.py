"""Fixtures of the deployment checks: the provisioned tools and each overlay rendered once.

The tools come from deploy/tools.sh (kustomize built from the Go module proxy,
hadolint and kubernetes-validate from PyPI, Dapr's CRDs and component specs from
the Go modules of the pinned runtime), cached outside the repo. A missing tool
fails the tests; nothing here is skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    import yaml

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
