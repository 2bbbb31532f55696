"""HTTP requests to an outside service through a Dapr HTTP output binding (``bindings.http``): the binding's
component holds the service's base URL, the app names a path. The app itself opens no connection."""

from __future__ import annotations

from dataclasses import dataclass, field

from .connection import Connection
from .errors import Rejected


@dataclass(frozen=True)
class HttpAnswer:
    """What the outside service answered: status, body, and its headers (names as the service sent them)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)


class HttpBindingOperations(Connection):
    """Requests through HTTP output bindings."""

    def http_request(self, binding: str, method: str, path: str, body: bytes | None = None,
                     headers: dict[str, str] | None = None) -> HttpAnswer:
        """``method path`` on the service behind ``binding``; any status is answered (4xx and 5xx too).

        Header names must start with a capital letter (the binding sends only those as headers).
        Raises ``Unavailable`` when the sidecar or the service does not answer, ``Rejected`` for a name or
        method the binding refuses.
        """
        metadata = {"path": path, "errorIfNot2XX": "false", **(headers or {})}
        if any(not name[:1].isupper() for name in (headers or {})):
            raise Rejected(f"binding {binding}: header names must start with a capital letter")
        try:
            resp = self.client.invoke_binding(binding, method.lower(), body or b"", binding_metadata=metadata)
        except Exception as err:
            raise self._fail(err, f"binding {binding}: {method} {path}") from err
        answer_metadata = dict(resp.binding_metadata or {})
        status = int(answer_metadata.pop("statusCode", "0") or 0)
        answer_metadata.pop("status", None)
        return HttpAnswer(status, resp.data or b"", answer_metadata)
