"""One gateway: only the ``webapp/dapr_gateway`` package talks to Dapr (SDK, gRPC, protobuf) and only its
``sdk`` module imports them; no application module imports an infrastructure client (everything goes
through the sidecar)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "webapp" / "dapr_gateway"
DAPR = {"dapr", "grpc", "google"}
INFRASTRUCTURE = {"redis", "kafka", "confluent_kafka", "httpx", "requests", "urllib3", "aiohttp", "sqlite3",
                  "psycopg", "psycopg2", "sqlalchemy", "pymongo", "boto3", "smtplib"}
APP_MODULES = sorted(p for p in (ROOT / "webapp").rglob("*.py") if GATEWAY not in p.parents)


def top_level_imports(path: Path) -> set[str]:
    """The top-level package of every import in ``path`` (anywhere in it, not only at the top)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_gateway_is_where_the_sdk_is_imported():
    assert any(DAPR & top_level_imports(p) for p in GATEWAY.glob("*.py"))


@pytest.mark.parametrize("path", APP_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_application_module_imports_dapr_or_an_infrastructure_client(path):
    assert not (DAPR | INFRASTRUCTURE) & top_level_imports(path)


@pytest.mark.parametrize("path", sorted(GATEWAY.glob("*.py")), ids=lambda p: p.name)
def test_inside_the_gateway_only_its_sdk_module_imports_the_sdk(path):
    assert bool(DAPR & top_level_imports(path)) == (path.name == "sdk.py")
