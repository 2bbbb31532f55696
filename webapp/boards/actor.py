"""The board actor: one per shared board, so the writes to that board's index take turns instead of racing.

Dapr's placement service puts each actor (type ``ACTOR_TYPE``, id: the board's id) on one app instance,
and that instance's sidecar hands it one call at a time. A change on a shared board commits its task
document as before (the one guarded write, with its outbox items, in the request), then asks the board's
actor to put the task's row in the index: the turns of one board follow each other, so they no longer
lose ETag races to each other. The ETag stays the guard (the relay and the sweep still write rows), and a
turn that loses retries as the optimistic path does.

A request waits for the turn at most ``BOARD_ACTOR_SECONDS``; then (placement down, the actor's host gone,
a turn stuck, a queue too long) it writes the row itself on the optimistic path. A row only replaces an
older one, so a turn that still runs afterwards changes nothing. Personal boards (one writer) and
``BOARD_ACTORS`` off take the optimistic path.
"""

from __future__ import annotations

import logging

from flask import current_app

from ..dapr_gateway import GatewayError, Item
from ..metrics import BOARD_ACTOR_CALLS
from ..sidecar import gateway
from ..tasks import store as task_store
from ..tasks.model import Task
from .model import is_personal

log = logging.getLogger(__name__)
ACTOR_TYPE = "BoardIndex"
PUT_ROW = "put_row"
TURN_LOOP = "board actor turn"  # its retries in taskboard_conflict_retries_total: only another writer than a turn


class BadTurn(ValueError):
    """A call to the actor that is not one of its methods, or whose body is malformed."""


def takes_turns(board_id: str) -> bool:
    """Whether the board's index writes go through its actor (a shared board, with ``BOARD_ACTORS`` on)."""
    return bool(current_app.config["BOARD_ACTORS"]) and not is_personal(board_id)


def put_row(board_id: str, task: Task, deleted: bool = False, index: Item | None = None) -> bool:
    """Put a committed task's row in its board's index: in the board actor's turn, or on the optimistic
    path (``tasks.store.put_row``) for a personal board or when the actor did not answer in time.
    False when the row kept losing (the caller marks the board for the relay)."""
    if not takes_turns(board_id):
        return task_store.put_row(board_id, task, deleted, index)
    row = task_store.row_of(task, deleted)
    try:
        reply = gateway().invoke_actor(ACTOR_TYPE, board_id, PUT_ROW, {"task_id": task.id, "row": row},
                                       float(current_app.config["BOARD_ACTOR_SECONDS"]))
    except GatewayError as err:
        BOARD_ACTOR_CALLS.labels("fallback").inc()
        log.warning("board actor %s did not take the row of %s (%s); written on the optimistic path",
                    board_id, task.id, err)
        return task_store.put_row(board_id, task, deleted, index)
    BOARD_ACTOR_CALLS.labels("turn").inc()
    return bool(isinstance(reply, dict) and reply.get("written"))


def turn(actor_type: str, board_id: str, method: str, body: object) -> dict:
    """Run one turn of a board actor (the sidecar gives each board one at a time); what it answers.

    Raises ``LookupError`` for an unknown actor type or method, ``BadTurn`` for a malformed body,
    and the gateway's errors when the store fails (the caller then takes the optimistic path).
    """
    if actor_type != ACTOR_TYPE or method != PUT_ROW or is_personal(board_id):
        raise LookupError(f"{actor_type}/{board_id} has no method {method}")
    if not isinstance(body, dict) or not task_store.valid_id(str(body.get("task_id") or "")) \
            or not isinstance(body.get("row"), (list, dict)):
        raise BadTurn("expected {task_id, row}")
    return {"written": task_store.put_row_of(board_id, body["task_id"], body["row"], loop=TURN_LOOP)}


def actor_config() -> dict:
    """What the sidecar asks the app at start (``GET /dapr/config``): the actor types it hosts and how."""
    hosted = [ACTOR_TYPE] if current_app.config["BOARD_ACTORS"] else []
    return {
        "entities": hosted,
        # Nothing is held in memory between turns: an idle actor can go soon, and a rebalanced one
        # (a replica joined or left) is free to move once its current turn is over.
        "actorIdleTimeout": "5m",
        "drainOngoingCallTimeout": "5s",
        "drainRebalancedActors": True,
        "reentrancy": {"enabled": False},
    }
