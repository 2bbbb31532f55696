"""The sidecar's calls to the actors this app hosts (the board actors, ``actor.py``): added to the inbound
blueprint, so they are CSRF-exempt and checked against the app token like every inbound route."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from ..dapr_gateway import GatewayError
from ..tasks.creation import INDEX_INSERTER
from ..tasks.store import ROW_WRITER
from . import actor

log = logging.getLogger(__name__)


def dapr_config():
    return jsonify(actor.actor_config())


def actor_method(actor_type: str, actor_id: str, method: str):
    """One turn: 200 with its answer, 404 for an unknown actor or method, 400 for a malformed body,
    503 when the store failed (the caller writes on the optimistic path)."""
    # The sidecar sends the caller's bytes without a JSON content type. Parsing them anyway opens no
    # cross-site hole: a browser cannot send a PUT across sites without a preflight this app never grants.
    body = request.get_json(force=True, silent=True)
    try:
        return jsonify(actor.turn(actor_type, actor_id, method, body))
    except LookupError as err:
        return jsonify(error="not_found", message=str(err)), 404
    except actor.BadTurn as err:
        return jsonify(error="bad_request", message=str(err)), 400
    except GatewayError as err:
        log.warning("board actor %s: turn %s failed: %s", actor_id, method, err)
        return jsonify(error="unavailable", message=str(err)), 503


def actor_deactivated(actor_type: str, actor_id: str):
    """The sidecar deactivated an idle or moved actor: nothing is held in memory, so nothing to do."""
    if actor_type != actor.ACTOR_TYPE:
        return jsonify(error="not_found"), 404
    return jsonify(status="deactivated")


def add_to(bp: Blueprint) -> None:
    """Add the actor routes to ``bp`` (the inbound blueprint); the app it is registered on sends the rows
    and creates of its shared boards through their actors (``tasks.store.ROW_WRITER``, ``tasks.creation.INDEX_INSERTER``)."""
    bp.add_url_rule("/dapr/config", view_func=dapr_config, methods=["GET"])
    bp.add_url_rule("/actors/<actor_type>/<actor_id>/method/<method>", view_func=actor_method, methods=["PUT"])
    bp.add_url_rule("/actors/<actor_type>/<actor_id>", view_func=actor_deactivated, methods=["DELETE"])
    bp.record_once(lambda state: state.app.extensions.setdefault(ROW_WRITER, actor.put_row))
    bp.record_once(lambda state: state.app.extensions.setdefault(INDEX_INSERTER, actor.insert))
