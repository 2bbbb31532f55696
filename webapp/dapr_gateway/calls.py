"""Per-call context of the gateway's gRPC channel: deadline and W3C trace context."""

from __future__ import annotations

import contextvars

from .sdk import grpc


_TRACEPARENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)


def use_trace_context(traceparent: str | None) -> None:
    """Make the calls of the current request/thread carry this W3C ``traceparent``."""
    _TRACEPARENT.set(traceparent)


class _CallContextInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Give every unary call a deadline (unless set) and the current trace context."""

    def __init__(self, seconds: float):
        self._seconds = seconds

    def intercept_unary_unary(self, continuation, details, request):
        traceparent = _TRACEPARENT.get()
        if details.timeout is None or traceparent:
            metadata = list(details.metadata or [])
            if traceparent:
                metadata.append(("traceparent", traceparent))
            details = _CallDetails(details.method, details.timeout or self._seconds, metadata,
                                   details.credentials, getattr(details, "wait_for_ready", None),
                                   getattr(details, "compression", None))
        return continuation(details, request)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


