"""The gateway's plain values (state items, transaction operations, settings) and their JSON encoding."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from .sdk import AnyProto, Value, json_format

# orjson, not the standard json module, for every state value and event: a board's index is read and decoded
# on every list page and encoded on every write (1,000 rows: decoding 0.85 → 0.56 ms, encoding 1.2 → 0.08 ms).
# Datetimes, sets and dataclasses go through ``_json_default`` as with ``json.dumps``; int keys become strings.
_DUMPS_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


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
    return orjson.dumps(value, default=_json_default, option=_DUMPS_OPTIONS)


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
    return orjson.loads(data)


class SharedValues:
    """Values decoded once per stored version and handed to every reader of the same bytes in this process.

    For large documents that many requests read and none changes (a board's index: 1,000 rows take 0.5 ms to
    decode and as long again to summarise, on every list page): ``decode(key, data)`` gives the value decoded
    the last time the stored bytes were exactly ``data`` (compared byte for byte, so never a stale one, whatever
    the store's ETags do), and ``derived`` keeps what a reader computed from such a value beside it. A shared
    value is read-only: a caller that wants to change it decodes its own (a plain ``get``). At most
    ``max_bytes`` of stored bytes are kept, the least recently used dropped first (decoded and summarised, a
    stored byte takes about 4.5 in memory: 1 MiB is about 5 MB a worker, four boards of 1,000 tasks).
    """

    def __init__(self, max_bytes: int = 1024 * 1024):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, list] = OrderedDict()  # key -> [bytes, value, {name: derived}]
        self._bytes = 0
        self._lock = threading.Lock()

    def decode(self, key: str, data: bytes) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == data:
                self._entries.move_to_end(key)
                return entry[1]
        value = _loads(data)
        if len(data) <= self.max_bytes:
            with self._lock:
                old = self._entries.pop(key, None)
                self._bytes += len(data) - (len(old[0]) if old else 0)
                self._entries[key] = [data, value, {}]
                while self._bytes > self.max_bytes:
                    _, dropped = self._entries.popitem(last=False)
                    self._bytes -= len(dropped[0])
        return value

    def derived(self, key: str, value: Any, name: str, compute) -> Any:
        """``compute()``, kept with ``value`` under ``name`` when ``value`` is the shared value of ``key`` (else
        computed every time). What it returns is shared too: read-only."""
        with self._lock:
            entry = self._entries.get(key)
            kept = entry[2].get(name, _MISSING) if entry is not None and entry[1] is value else None
        if kept is None:
            return compute()
        if kept is _MISSING:
            kept = compute()
            with self._lock:
                if entry[1] is value:
                    entry[2][name] = kept
        return kept


_MISSING = object()


def _any_json(data: dict):
    """Job data as a packed ``google.protobuf.Value``: the sidecar posts it to the app as plain JSON."""
    value = json_format.Parse(json.dumps(data, default=_json_default), Value())
    wrapped = AnyProto()
    wrapped.Pack(value)
    return wrapped
