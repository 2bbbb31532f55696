"""The gateway's connection: one ``DaprClient`` per worker process, created lazily after the fork; the sidecar's metadata."""

from __future__ import annotations

import logging
import os
import threading

from .calls import _CallContextInterceptor
from .errors import GatewayError, Unavailable, _translate
from .sdk import DaprClient, DaprClientInterceptor, grpc, sdk_settings
from .values import GatewaySettings

log = logging.getLogger("webapp.dapr_gateway")
_CONNECT_LOCK = threading.Lock()


class Connection:
    """The client of one worker process, and the translation of its failures into the gateway's errors."""

    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self._client: DaprClient | None = None
        self._pid: int | None = None
        self._lock = _CONNECT_LOCK  # the SDK's settings are process-global: connect one at a time

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
