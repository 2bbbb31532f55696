"""Calls out through the sidecar: publish an event, invoke another app, call an output binding, read a secret."""

from __future__ import annotations

from typing import Any

from .connection import Connection
from .errors import _CLIENT_ERROR_PHRASES, Conflict, NotFound, Rejected, Unavailable
from .sdk import grpc
from .values import _dumps, _loads


class MessagingOperations(Connection):
    """Pub/sub, service invocation, output bindings and the secret store."""

    def publish(self, topic: str, data: dict, metadata: dict[str, str] | None = None) -> None:
        """Publish ``data`` as a JSON CloudEvent on ``topic``."""
        try:
            self.client.publish_event(self.settings.pubsub, topic, _dumps(data),
                                      data_content_type="application/json",
                                      publish_metadata=metadata or {})
        except Exception as err:
            raise self._fail(err, f"publish to {topic}") from err

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

    def invoke_binding(self, name: str, operation: str, data: bytes | str | dict,
                       metadata: dict[str, str] | None = None) -> bytes:
        """Call output binding ``name`` with ``operation``; return its response body."""
        payload = _dumps(data) if isinstance(data, dict) else data
        try:
            resp = self.client.invoke_binding(name, operation, payload, binding_metadata=metadata or {})
        except Exception as err:
            raise self._fail(err, f"binding {name}/{operation}") from err
        return resp.data

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
