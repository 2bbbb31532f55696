"""The ``probe`` job kind: proves the scheduler → sidecar → ``/job/<name>`` path (readiness checks, tests)."""

from __future__ import annotations

from ..keys import job_fired_key
from ..sidecar import gateway

RECORD_TTL_SECONDS = 3600


def fire(name: str, data: dict) -> str:
    """Record that the probe job ``name`` fired (``GatewayError`` if the store is down)."""
    gateway().save(job_fired_key(name), {"name": name, "data": data}, ttl_seconds=RECORD_TTL_SECONDS)
    return "recorded"
