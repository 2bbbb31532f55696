"""The gateway's errors, and how SDK/gRPC failures become them (part of the one Dapr gateway)."""

from __future__ import annotations

from http import HTTPStatus

from .sdk import DaprInternalError, grpc


class GatewayError(Exception):
    """Base of the errors the gateway raises; views and handlers speak only these."""


class NotFound(GatewayError):
    """The thing asked for does not exist (or the sidecar has no route to it)."""


class Conflict(GatewayError):
    """An ETag did not match: someone else changed the item first."""


class Unavailable(GatewayError):
    """The sidecar, or the component behind it, did not answer in time."""


class Rejected(GatewayError):
    """The sidecar or the callee refused the request as invalid."""


class TooLarge(Rejected):
    """A message past the sidecar's size limit (gRPC RESOURCE_EXHAUSTED): an item or a bulk read too big."""


_CLIENT_ERROR_PHRASES = {status.phrase for status in HTTPStatus if 400 <= status < 500}


def _translate(err: Exception, what: str) -> GatewayError:
    """Map an SDK/gRPC error to one of the gateway's errors."""
    if isinstance(err, grpc.RpcError):
        code = err.code()
        details = err.details() or ""
        if code == grpc.StatusCode.ABORTED or "etag mismatch" in details.lower():
            return Conflict(f"{what}: {details}")
        if code == grpc.StatusCode.NOT_FOUND:
            return NotFound(f"{what}: {details}")
        if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                    grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            return Rejected(f"{what}: {code.name} {details}")
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return TooLarge(f"{what}: {code.name} {details}")
        if code == grpc.StatusCode.INTERNAL and "possible etag mismatch" in details.lower():
            return Conflict(f"{what}: {details}")
        return Unavailable(f"{what}: {code.name if code else 'error'} {details}")
    if isinstance(err, (TimeoutError, DaprInternalError, OSError)):
        return Unavailable(f"{what}: {err}")
    return Unavailable(f"{what}: {type(err).__name__}: {err}")


# How an ETag mismatch inside a transaction surfaces (gRPC INTERNAL, ERR_STATE_TRANSACTION):
# Redis's Lua scripts say "failed to set key" / "failed to delete"; SQL stores say "etag".
_TRANSACTION_ETAG_MARKERS = ("failed to set key", "failed to delete", "etag")


def _is_transaction_etag_failure(err: grpc.RpcError) -> bool:
    details = (err.details() or "").lower()
    return any(marker in details for marker in _TRANSACTION_ETAG_MARKERS)


def _is_create_refused(err: grpc.RpcError) -> bool:
    """A store's answer to a first-write save of an existing key: Redis's (not its later TTL step),
    PostgreSQL's (its insert-or-update-if-expired changed no row)."""
    details = (err.details() or "").lower()
    return ("failed to set key" in details and " ttl:" not in details) or "no item was updated" in details
