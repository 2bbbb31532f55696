"""The board actor: one per shared board, so the writes to that board's index take turns instead of racing.

Dapr's placement service puts each actor (type ``ACTOR_TYPE``, id: the board's id) on one app instance,
and that instance's sidecar hands it one call at a time. A change on a shared board commits its task
document as before (the one guarded write, with its outbox items, in the request), then asks the board's
actor to put the task's row in the index (``PUT_ROW``); a create asks it to run the create's one
transaction, whose one guarded write is the index (``INSERT``). The turns of one board follow each other,
so they no longer lose ETag races to each other. The ETag stays the guard (the relay and the sweep still
write rows), and a turn that loses retries as the optimistic path does. Events still leave through the
outbox: the request publishes them once the turn answered.

A request waits for the turn at most ``BOARD_ACTOR_SECONDS``; then (placement down, the actor's host gone,
a turn stuck, a queue too long) it does the write itself on the optimistic path. A row only replaces an
older one, so a turn that still runs afterwards changes nothing; a create's late turn finds the task
listed and stored and writes nothing (``tasks.creation.insert_here``). Personal boards (one writer) and
``BOARD_ACTORS`` off take the optimistic path.
"""

from __future__ import annotations

import logging

from flask import current_app

from ..dapr_gateway import GatewayError, Item, NotFound
from ..errors import Busy, ListFull, TaskLimitReached
from ..metrics import BOARD_ACTOR_CALLS
from ..sidecar import gateway
from ..tasks import creation as task_creation
from ..tasks import index as task_index
from ..tasks import store as task_store
from ..tasks.model import Task
from .model import is_personal

log = logging.getLogger(__name__)
ACTOR_TYPE = "BoardIndex"
PUT_ROW = "put_row"
INSERT = "insert"
REFUSALS = {"busy": Busy, "gone": NotFound, "limit": TaskLimitReached, "full": ListFull}
TURN_LOOP = "board actor turn"  # its retries in taskboard_conflict_retries_total: only another writer than a turn


class BadTurn(ValueError):
    """A call to the actor that is not one of its methods, or whose body is malformed."""


def takes_turns(board_id: str) -> bool:
    """Whether the board's index writes go through its actor (a shared board, with ``BOARD_ACTORS`` on)."""
    return bool(current_app.config["BOARD_ACTORS"]) and not is_personal(board_id)


def put_row(board_id: str, task: Task, deleted: bool = False, index: Item | None = None) -> bool:
    """Put a committed task's row in its board's index: in the board actor's turn, or on the optimistic
    path (``tasks.index.put_row``) for a personal board or when the actor did not answer in time.
    False when the row kept losing (the caller marks the board for the relay)."""
    if not takes_turns(board_id):
        return task_index.put_row(board_id, task, deleted, index)
    row = task_index.row_of(task, deleted)
    try:
        reply = gateway().invoke_actor(ACTOR_TYPE, board_id, PUT_ROW, {"task_id": task.id, "row": row},
                                       float(current_app.config["BOARD_ACTOR_SECONDS"]))
    except GatewayError as err:
        BOARD_ACTOR_CALLS.labels("fallback").inc()
        log.warning("board actor %s did not take the row of %s (%s); written on the optimistic path",
                    board_id, task.id, err)
        return task_index.put_row(board_id, task, deleted, index)
    BOARD_ACTOR_CALLS.labels("turn").inc()
    return bool(isinstance(reply, dict) and reply.get("written"))


def insert(task: Task, events: list[dict], with_history: bool = True) -> bool:
    """List a new task in its board's index with its events: in the board actor's turn, or on the optimistic
    path (``tasks.creation.insert_here``), which it returns and raises as."""
    if not takes_turns(task.board_id):
        return task_creation.insert_here(task, events, with_history)
    body = {"task": task.to_dict(), "events": events, "with_history": with_history}
    try:
        reply = gateway().invoke_actor(ACTOR_TYPE, task.board_id, INSERT, body,
                                       float(current_app.config["BOARD_ACTOR_SECONDS"]))
    except GatewayError as err:
        BOARD_ACTOR_CALLS.labels("fallback").inc()
        log.warning("board actor %s did not take the create of %s (%s); stored on the optimistic path",
                    task.board_id, task.id, err)
        return task_creation.insert_here(task, events, with_history)
    BOARD_ACTOR_CALLS.labels("turn").inc()
    refusal = REFUSALS.get((reply or {}).get("refused"))
    if refusal is NotFound or refusal is Busy:
        raise refusal(f"create of {task.id} on {task.board_id}: {reply['refused']}")
    if refusal is not None:
        raise refusal(int(reply.get("limit") or 0))
    return bool((reply or {}).get("inserted"))


def _insert_turn(board_id: str, body: dict) -> dict:
    """A create in the board actor's turn: {"inserted": bool}, or {"refused": <REFUSALS key>, "limit"}."""
    try:
        task = Task.from_dict(body["task"])
        events = body["events"]
        if task.board_id != board_id or not task_store.valid_id(task.id) or not isinstance(events, list) \
                or not all(isinstance(e, dict) and e.get("event_id") for e in events):
            raise ValueError("task of another board, or events without ids")
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise BadTurn(f"expected {{task, events}}: {err}") from err
    try:
        return {"inserted": task_creation.insert_here(task, events, bool(body.get("with_history", True)))}
    except ListFull as err:
        return {"refused": "full", "limit": err.limit}
    except TaskLimitReached as err:
        return {"refused": "limit", "limit": err.limit}
    except NotFound:
        return {"refused": "gone"}
    except Busy:
        return {"refused": "busy"}


def turn(actor_type: str, board_id: str, method: str, body: object) -> dict:
    """Run one turn of a board actor (the sidecar gives each board one at a time); what it answers.

    Raises ``LookupError`` for an unknown actor type or method, ``BadTurn`` for a malformed body,
    and the gateway's errors when the store fails (the caller then takes the optimistic path).
    """
    if actor_type != ACTOR_TYPE or method not in (PUT_ROW, INSERT) or is_personal(board_id):
        raise LookupError(f"{actor_type}/{board_id} has no method {method}")
    if method == INSERT:
        if not isinstance(body, dict):
            raise BadTurn("expected {task, events}")
        return _insert_turn(board_id, body)
    if not isinstance(body, dict) or not task_store.valid_id(str(body.get("task_id") or "")) \
            or not isinstance(body.get("row"), (list, dict)):
        raise BadTurn("expected {task_id, row}")
    return {"written": task_index.put_row_of(board_id, body["task_id"], body["row"], loop=TURN_LOOP)}


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
