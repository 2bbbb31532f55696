"""The one gateway to the Dapr sidecar.

This package is the only place that talks to the Dapr SDK or gRPC, and its
``sdk`` module the only one that imports them (the others take their names from
it). It offers the operations the app needs, one idea per module: ``values`` (items,
transaction operations, settings, JSON), ``connection`` (one ``DaprClient``
per worker process, created lazily after gunicorn forks; the sidecar's
metadata), ``state`` (state with ETags, create-if-absent, transactions), ``messaging``
(publish, invoke, bindings, secrets), ``jobs`` (scheduler jobs), ``http_binding`` (HTTP requests to
outside services through an HTTP output binding), ``actors`` (calls to actors through the sidecar, which places
them), ``calls``
(each call's deadline and trace context) and ``errors`` (SDK/gRPC failures
become four app errors: ``NotFound``, ``Conflict``, ``Unavailable`` and
``Rejected``).
"""

from __future__ import annotations

from . import sdk  # noqa: F401  (first: the SDK without aiohttp, before any module here imports it)
from .actors import ActorOperations
from .calls import use_trace_context
from .errors import Conflict, GatewayError, NotFound, Rejected, TooLarge, Unavailable
from .http_binding import HttpAnswer, HttpBindingOperations
from .jobs import JobOperations
from .messaging import MessagingOperations
from .state import StateOperations
from .values import Delete, GatewaySettings, Item, Upsert

__all__ = ["DaprGateway", "GatewaySettings", "Item", "Upsert", "Delete", "GatewayError", "NotFound",
           "Conflict", "Unavailable", "Rejected", "TooLarge", "use_trace_context", "HttpAnswer"]


class DaprGateway(StateOperations, MessagingOperations, JobOperations, HttpBindingOperations, ActorOperations):
    """Domain-neutral operations on the sidecar, one client per process.

    Every method raises ``Unavailable`` when the sidecar does not answer within
    the deadline; the others are documented per method.
    """
