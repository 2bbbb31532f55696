"""The one module that imports the Dapr SDK, gRPC and protobuf: every name of theirs the gateway uses
enters here, and the gateway's other modules take it from this one.

The SDK is imported without aiohttp (the first thing the gateway package does).

The SDK's ``dapr.clients`` package imports its HTTP clients, and through them
aiohttp: ≈ 7.5 MB resident in every process (the gunicorn master and each
worker of both apps), for code the gateway never runs — it invokes over gRPC
(``connection.py`` sets the SDK's invocation protocol) and makes no async calls.
While the SDK's package is imported, ``aiohttp`` is a placeholder whose every
name raises when used; a later ``import aiohttp`` (anything else that needs it)
gets the real package.
"""

from __future__ import annotations

import sys
import types


class AiohttpNotLoaded:
    """What every aiohttp name is inside the SDK's unused HTTP clients: unusable."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("aiohttp is not loaded for the Dapr SDK: the gateway speaks gRPC only")


def _any_name(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    return AiohttpNotLoaded


_placeholder = None
if "aiohttp" not in sys.modules and "dapr.clients" not in sys.modules:
    _placeholder = types.ModuleType("aiohttp", "Placeholder while the Dapr SDK is imported (webapp.dapr_gateway.sdk).")
    _placeholder.__getattr__ = _any_name
    sys.modules["aiohttp"] = _placeholder
try:
    import dapr.clients  # noqa: F401  (the package, its HTTP clients bound to the placeholder)
finally:
    if _placeholder is not None and sys.modules.get("aiohttp") is _placeholder:
        del sys.modules["aiohttp"]

# What the gateway's modules use, imported once the SDK is in (no aiohttp).
import grpc  # noqa: E402
from dapr.clients import DaprClient  # noqa: E402
from dapr.clients.exceptions import DaprInternalError  # noqa: E402
from dapr.clients.grpc._jobs import ConstantFailurePolicy, Job  # noqa: E402
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType  # noqa: E402
from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions  # noqa: E402
from dapr.clients.grpc.interceptors import DaprClientInterceptor  # noqa: E402
from dapr.conf import settings as sdk_settings  # noqa: E402
from dapr.proto.runtime.v1.actors_pb2 import InvokeActorRequest  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from google.protobuf.any_pb2 import Any as AnyProto  # noqa: E402
from google.protobuf.struct_pb2 import Value  # noqa: E402

__all__ = ["grpc", "DaprClient", "DaprInternalError", "ConstantFailurePolicy", "Job", "TransactionalStateOperation",
           "TransactionOperationType", "Concurrency", "Consistency", "StateOptions", "DaprClientInterceptor",
           "sdk_settings", "InvokeActorRequest", "json_format", "AnyProto", "Value"]
