"""The one gateway to the Dapr sidecar.

This package is the only place that imports the Dapr SDK or gRPC (``errors`` maps
failures, ``calls`` sets each call's deadline and trace context). It offers the
operations the app needs (state with ETags, transactions, publish, invoke,
secrets, jobs, bindings, metadata), keeps one ``DaprClient`` per worker process
(created lazily, after gunicorn forks), puts a deadline on every call, and turns
SDK/gRPC failures into four app errors: ``NotFound``, ``Conflict``,
``Unavailable`` and ``Rejected``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

import grpc
from dapr.clients import DaprClient
from dapr.clients.grpc._jobs import Job
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType
from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions
from dapr.clients.grpc.interceptors import DaprClientInterceptor
from dapr.conf import settings as sdk_settings

from .calls import _CallContextInterceptor, use_trace_context
from .errors import (_CLIENT_ERROR_PHRASES, Conflict, GatewayError, NotFound, Rejected, Unavailable,
                     _is_create_refused, _is_transaction_etag_failure, _translate)

__all__ = ["DaprGateway", "GatewaySettings", "Item", "Upsert", "Delete", "GatewayError", "NotFound",
           "Conflict", "Unavailable", "Rejected", "use_trace_context"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    """A state item: its JSON value (None when missing) and its ETag."""

    key: str
    value: Any
    etag: str | None

    @property
    def exists(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Upsert:
    """A transaction operation that writes ``value`` at ``key``."""

    key: str
    value: Any
    etag: str | None = None
    ttl_seconds: int | None = None


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
    lock_store: str = "lockstore"
    timeout_seconds: float = 5.0
    health_timeout_seconds: float = 3.0
    api_token: str | None = None
    extra_metadata: dict[str, str] = field(default_factory=dict)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=_json_default).encode()


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


_CONNECT_LOCK = threading.Lock()


class DaprGateway:
    """Domain-neutral operations on the sidecar, one client per process.

    Every method raises ``Unavailable`` when the sidecar does not answer within
    the deadline; the others are documented per method.
    """

    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self._client: DaprClient | None = None
        self._pid: int | None = None
        self._lock = _CONNECT_LOCK  # the SDK's settings are process-global: connect one at a time

    # -- client lifecycle -------------------------------------------------

    @property
    def client(self) -> DaprClient:
        """The process's client, created on first use after a fork."""
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    self._client = self._connect()
                    self._pid = os.getpid()
        return self._client

    def _connect(self) -> DaprClient:
        # The SDK blocks in its constructor until the sidecar's health endpoint
        # answers; bound that so a dead sidecar is a quick 503, not a hung worker.
        sdk_settings.DAPR_HEALTH_TIMEOUT = self.settings.health_timeout_seconds
        sdk_settings.DAPR_HTTP_ENDPOINT = self.settings.http_endpoint
        # Invoke over the same gRPC channel as everything else (the SDK defaults to a
        # separate HTTP client), so invocations get the deadline and the trace context too.
        sdk_settings.DAPR_API_METHOD_INVOCATION_PROTOCOL = "grpc"
        if self.settings.api_token:
            sdk_settings.DAPR_API_TOKEN = self.settings.api_token
        interceptors = [_CallContextInterceptor(self.settings.timeout_seconds)]
        if self.settings.extra_metadata:
            interceptors.append(DaprClientInterceptor(list(self.settings.extra_metadata.items())))
        try:
            client = DaprClient(address=self.settings.grpc_address, interceptors=interceptors)
        except Exception as err:  # TimeoutError from the health wait, DaprInternalError
            raise self._fail(err, "connect to sidecar") from err
        log.info("dapr client connected to %s (pid %s)", self.settings.grpc_address, os.getpid())
        return client

    def _fail(self, err: Exception, what: str) -> GatewayError:
        """Translate an SDK error; after a connection failure, start the next call on a fresh channel.

        A gRPC channel whose sidecar went away backs off reconnecting for up to
        two minutes; a new channel connects as soon as the sidecar is back.
        """
        error = _translate(err, what)
        if isinstance(error, Unavailable) and isinstance(err, grpc.RpcError) and \
                err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            # Drop, don't close: other threads may still be using the old channel.
            self._client = None
        return error

    def close(self) -> None:
        """Close this process's channel (used at worker exit)."""
        if self._client is not None and self._pid == os.getpid():
            self._client.close()
        self._client = None

    # -- state ------------------------------------------------------------

    def get(self, key: str) -> Item:
        """Read one item; a missing key gives ``Item(value=None, etag=None)``."""
        try:
            resp = self.client.get_state(self.settings.state_store, key)
        except Exception as err:
            raise self._fail(err, f"get {key}") from err
        value = _loads(resp.data)
        return Item(key, value, resp.etag or None if value is not None else None)

    def get_many(self, keys: Sequence[str]) -> list[Item]:
        """Read many items in one sidecar call, in the order of ``keys``."""
        if not keys:
            return []
        try:
            resp = self.client.get_bulk_state(self.settings.state_store, list(keys), parallelism=16)
        except Exception as err:
            raise self._fail(err, f"bulk get of {len(keys)} keys") from err
        by_key = {}
        for entry in resp.items:
            if entry.error:
                raise Unavailable(f"bulk get {entry.key}: {entry.error}")
            value = _loads(entry.data)
            by_key[entry.key] = Item(entry.key, value, entry.etag or None if value is not None else None)
        return [by_key.get(k, Item(k, None, None)) for k in keys]

    def save(self, key: str, value: Any, etag: str | None = None, ttl_seconds: int | None = None) -> None:
        """Write one item; with ``etag``, raise ``Conflict`` if it changed since."""
        options = StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong) if etag else None
        metadata = {"ttlInSeconds": str(ttl_seconds)} if ttl_seconds else None
        try:
            self.client.save_state(self.settings.state_store, key, _dumps(value), etag=etag,
                                   options=options, state_metadata=metadata)
        except Exception as err:
            raise self._fail(err, f"save {key}") from err

    def create(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        """Write ``value`` at ``key`` only if the key is absent; ``Conflict`` if it exists.

        First-write concurrency without an ETag: SQL stores insert-if-absent; Dapr's
        Redis store refuses it on a key written with first-write concurrency before
        (so every later write of such a key must carry its ETag).
        """
        options = StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong)
        metadata = {"ttlInSeconds": str(ttl_seconds)} if ttl_seconds else None
        try:
            self.client.save_state(self.settings.state_store, key, _dumps(value), options=options,
                                   state_metadata=metadata)
        except Exception as err:
            error = self._fail(err, f"create {key}")
            if isinstance(err, grpc.RpcError) and _is_create_refused(err):
                error = Conflict(str(error))
            raise error from err

    def save_versioned(self, key: str, value: Any, etag: str | None, ttl_seconds: int | None = None) -> None:
        """An optimistic write of what was read at ``etag``: over that version, or (``etag`` None) only
        if the key is still absent. ``Conflict`` when someone wrote first."""
        if etag is None:
            self.create(key, value, ttl_seconds=ttl_seconds)
        else:
            self.save(key, value, etag=etag, ttl_seconds=ttl_seconds)

    def delete(self, key: str, etag: str | None = None) -> None:
        """Delete one item; with ``etag``, raise ``Conflict`` if it changed since."""
        options = StateOptions(concurrency=Concurrency.first_write) if etag else None
        try:
            self.client.delete_state(self.settings.state_store, key, etag=etag, options=options)
        except Exception as err:
            raise self._fail(err, f"delete {key}") from err

    def transact(self, operations: Iterable[Upsert | Delete]) -> None:
        """Apply the operations as one state transaction.

        Raises ``Conflict`` when any ETag did not match.
        """
        ops = []
        for op in operations:
            if isinstance(op, Upsert):
                metadata = {"ttlInSeconds": str(op.ttl_seconds)} if op.ttl_seconds else {}
                ops.append(TransactionalStateOperation(
                    key=op.key, data=_dumps(op.value), etag=op.etag,
                    operation_type=TransactionOperationType.upsert, metadata=metadata))
            else:
                ops.append(TransactionalStateOperation(
                    key=op.key, etag=op.etag, operation_type=TransactionOperationType.delete))
        try:
            self.client.execute_state_transaction(self.settings.state_store, ops)
        except Exception as err:
            error = self._fail(err, f"transaction of {len(ops)} operations")
            if isinstance(err, grpc.RpcError) and _is_transaction_etag_failure(err):
                error = Conflict(str(error))
            raise error from err

    # -- locks ------------------------------------------------------------

    @contextmanager
    def lock(self, resource: str, owner: str, expiry_seconds: int = 10):
        """Hold the distributed lock on ``resource`` for the ``with`` block.

        Raises ``Conflict`` when someone else holds it.
        """
        try:
            acquired = self.client.try_lock(self.settings.lock_store, resource, owner, expiry_seconds)
        except Exception as err:
            raise self._fail(err, f"lock {resource}") from err
        if not acquired.success:
            raise Conflict(f"lock {resource} is held by someone else")
        try:
            yield
        finally:
            try:
                self.client.unlock(self.settings.lock_store, resource, owner)
            except Exception:  # it expires by itself; never mask the block's own error
                log.warning("could not release lock %s; it expires in %ss", resource, expiry_seconds)

    # -- pub/sub ----------------------------------------------------------

    def publish(self, topic: str, data: dict, metadata: dict[str, str] | None = None) -> None:
        """Publish ``data`` as a JSON CloudEvent on ``topic``."""
        try:
            self.client.publish_event(self.settings.pubsub, topic, _dumps(data),
                                      data_content_type="application/json",
                                      publish_metadata=metadata or {})
        except Exception as err:
            raise self._fail(err, f"publish to {topic}") from err

    # -- service invocation ----------------------------------------------

    def invoke(self, app_id: str, method: str, data: dict, timeout_seconds: float | None = None) -> Any:
        """POST ``data`` as JSON to ``method`` of ``app_id``; return its JSON reply.

        ``Rejected`` when the callee answers 4xx, ``Conflict`` when it answers 409.
        """
        try:
            resp = self.client.invoke_method(app_id, method, data=_dumps(data),
                                             content_type="application/json", http_verb="POST",
                                             timeout=timeout_seconds or self.settings.timeout_seconds)
        except Exception as err:
            # Over gRPC, the callee's 4xx reply arrives as UNKNOWN with the HTTP reason phrase,
            # except a few Dapr maps to their own codes: 409 is ALREADY_EXISTS "Conflict".
            if isinstance(err, grpc.RpcError) and err.code() == grpc.StatusCode.ALREADY_EXISTS \
                    and err.details() == "Conflict":
                raise Conflict(f"invoke {app_id}/{method}: {err.details()}") from err
            if isinstance(err, grpc.RpcError) and err.code() == grpc.StatusCode.UNKNOWN \
                    and (err.details() or "") in _CLIENT_ERROR_PHRASES:
                raise Rejected(f"invoke {app_id}/{method}: {err.details()}") from err
            raise self._fail(err, f"invoke {app_id}/{method}") from err
        status = getattr(resp, "status_code", None)
        if status is not None and status >= 400:
            error = Rejected if status < 500 else Unavailable
            raise error(f"invoke {app_id}/{method}: HTTP {status}")
        return _loads(resp.data) if resp.data else None

    # -- secrets ----------------------------------------------------------

    def secret(self, name: str) -> str:
        """Read secret ``name``; ``NotFound`` if the store has no such key."""
        try:
            resp = self.client.get_secret(self.settings.secret_store, name)
        except Exception as err:
            if isinstance(err, grpc.RpcError) and "not found" in (err.details() or "").lower():
                raise NotFound(f"secret {name}") from err
            raise self._fail(err, f"secret {name}") from err
        if name not in resp.secret:
            raise NotFound(f"secret {name}")
        return resp.secret[name]

    # -- jobs -------------------------------------------------------------

    def schedule_job(self, name: str, due: datetime, data: dict, ttl: str | None = None) -> None:
        """Create or replace job ``name`` that calls ``/job/<name>`` once at ``due``."""
        job = Job(name=name, due_time=due.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  data=_any_json(data), ttl=ttl)
        try:
            self.client.schedule_job_alpha1(job, overwrite=True)
        except Exception as err:
            raise self._fail(err, f"schedule job {name}") from err

    def delete_job(self, name: str) -> None:
        """Delete job ``name``; deleting a missing job is not an error."""
        try:
            self.client.delete_job_alpha1(name)
        except Exception as err:
            error = self._fail(err, f"delete job {name}")
            if not isinstance(error, NotFound):
                raise error from err

    def get_job(self, name: str) -> dict | None:
        """Return the job's schedule and data, or None when there is none."""
        try:
            job = self.client.get_job_alpha1(name)
        except Exception as err:
            error = self._fail(err, f"get job {name}")
            if isinstance(error, (NotFound, Unavailable)) and "not found" in str(error).lower():
                return None
            if isinstance(error, NotFound):
                return None
            raise error from err
        return {"name": job.name, "due_time": job.due_time, "schedule": job.schedule}

    # -- bindings ---------------------------------------------------------

    def invoke_binding(self, name: str, operation: str, data: bytes | str | dict,
                       metadata: dict[str, str] | None = None) -> bytes:
        """Call output binding ``name`` with ``operation``; return its response body."""
        payload = _dumps(data) if isinstance(data, dict) else data
        try:
            resp = self.client.invoke_binding(name, operation, payload, binding_metadata=metadata or {})
        except Exception as err:
            raise self._fail(err, f"binding {name}/{operation}") from err
        return resp.data

    # -- sidecar ----------------------------------------------------------

    def metadata(self) -> dict:
        """The sidecar's app id and loaded components (``Unavailable`` if it does not answer)."""
        try:
            meta = self.client.get_metadata()
        except Exception as err:
            raise self._fail(err, "metadata") from err
        return {
            "app_id": meta.application_id,
            "runtime_version": meta.runtime_version if hasattr(meta, "runtime_version") else None,
            "components": [
                {"name": c.name, "type": c.type, "version": c.version}
                for c in meta.registered_components
            ],
        }


# How an ETag mismatch inside a transaction surfaces (gRPC INTERNAL, ERR_STATE_TRANSACTION):
# Redis's Lua scripts say "failed to set key" / "failed to delete"; SQL stores say "etag".
def _any_json(data: dict):
    """Job data as a packed ``google.protobuf.Value``: the sidecar posts it to the app as plain JSON."""
    from google.protobuf import json_format
    from google.protobuf.any_pb2 import Any as AnyProto
    from google.protobuf.struct_pb2 import Value

    value = json_format.Parse(json.dumps(data, default=_json_default), Value())
    wrapped = AnyProto()
    wrapped.Pack(value)
    return wrapped
