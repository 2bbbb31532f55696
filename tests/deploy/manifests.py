"""What the deployment checks share: the deployment's fixed facts, and how to read rendered manifests,
Kubernetes quantities and durations, CRD schemas and deploy/Dockerfile."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from .conftest import DEPLOY, RENDERINGS, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import devstack  # noqa: E402

APPS = devstack.APPS  # {app-id: WSGI target}, as `make run` starts them
NAMESPACE = "taskboard"
PROD_OVERLAYS = tuple(r for r in RENDERINGS if r.startswith("prod"))
APP_PORTS = {"taskboard": 8000, "notification-service": 8001}
APP_METRICS_PORT = 9464  # gunicorn.conf.py's default TASKBOARD_METRICS_PORT
DAPR_SIDECAR_PORTS = {"internal_grpc": 50002, "metrics": 9090}


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
