"""The gateway's plain values (state items, transaction operations, settings) and their JSON encoding."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .sdk import AnyProto, Value, json_format


@dataclass(frozen=True)
class Item:
    """A state item: its JSON value (None when missing), its ETag and its size as stored (bytes)."""

    key: str
    value: Any
    etag: str | None
    size: int = 0

    @property
    def exists(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Upsert:
    """A transaction operation that writes ``value`` at ``key``.

    ``expires_anyway``: the key is to expire whatever the write's guard finds (a gone task's remains), so a TTL
    beside the ETag is allowed — Redis applies it even when the guard fails, which is wanted here only."""

    key: str
    value: Any
    etag: str | None = None
    ttl_seconds: int | None = None
    expires_anyway: bool = False


@dataclass(frozen=True)
class Delete:
    """A transaction operation that deletes ``key``."""

    key: str
    etag: str | None = None


@dataclass
class GatewaySettings:
    """What the gateway needs to know; built from the Flask config."""

    grpc_address: str
    http_endpoint: str  # the SDK's constructor waits on the sidecar's HTTP health endpoint
    state_store: str = "statestore"
    pubsub: str = "pubsub"
    secret_store: str = "secretstore"
    timeout_seconds: float = 5.0
    health_timeout_seconds: float = 3.0
    api_token: str | None = None
    # Every job's failure policy: a firing the app did not accept is tried again this often, this many times
    # (20 minutes: longer than a rollout; the scheduler's own default is 3 retries 1 s apart).
    job_retry_interval_seconds: int = 30
    job_max_retries: int = 40
    extra_metadata: dict[str, str] = field(default_factory=dict)


def _dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON: a character is stored in its UTF-8 bytes (an emoji in 4, not 12 as ``\\ud83d\\ude00``)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode()


def encoded_size(value: Any) -> int:
    """How many bytes ``value`` takes stored."""
    return len(_dumps(value))


def _json_default(value: Any):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _loads(data: bytes | None) -> Any:
    if not data:
        return None
    return json.loads(data)


def _any_json(data: dict):
    """Job data as a packed ``google.protobuf.Value``: the sidecar posts it to the app as plain JSON."""
    value = json_format.Parse(json.dumps(data, default=_json_default), Value())
    wrapped = AnyProto()
    wrapped.Pack(value)
    return wrapped
