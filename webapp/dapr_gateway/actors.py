"""Calls to actors through the sidecar: placement decides which sidecar (and app instance) hosts each actor,
and that sidecar gives the actor one call at a time (part of the one Dapr gateway)."""

from __future__ import annotations

from typing import Any

from .connection import Connection
from .errors import Unavailable
from .sdk import InvokeActorRequest, grpc
from .values import _dumps, _loads


class ActorOperations(Connection):
    """Invoke an actor's method (the app hosting it answers ``PUT /actors/<type>/<id>/method/<name>``)."""

    def invoke_actor(self, actor_type: str, actor_id: str, method: str, data: dict,
                     timeout_seconds: float) -> Any:
        """Call ``method`` of actor ``actor_type``/``actor_id`` with ``data`` as JSON; its JSON reply.

        ``Unavailable`` when no answer came within ``timeout_seconds`` (placement down, the
        actor's turn stuck or queued too long, its host gone), ``Rejected`` when the host refused the call.
        The call is not retried: after ``Unavailable`` the turn may still run.
        """
        request = InvokeActorRequest(actor_type=actor_type, actor_id=actor_id, method=method, data=_dumps(data))
        try:
            # The SDK's gRPC client has no actor call (its ActorProxy speaks HTTP through aiohttp, which the
            # gateway leaves out): its stub is on the same intercepted channel (API token, deadline, trace).
            reply = self.client._stub.InvokeActor(request, timeout=timeout_seconds)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                # The actor was slow, not the sidecar: the process keeps its channel.
                raise Unavailable(f"actor {actor_type}/{actor_id}.{method}: no answer in {timeout_seconds}s") from err
            raise self._fail(err, f"actor {actor_type}/{actor_id}.{method}") from err
        except Exception as err:
            raise self._fail(err, f"actor {actor_type}/{actor_id}.{method}") from err
        return _loads(reply.data) if reply.data else None
