"""All inbound Dapr traffic: subscriptions, job triggers, binding triggers, actor calls (``boards/actor_routes``).

CSRF-exempt (registered so in the factory), JSON in and out, and — when an app
API token is configured — only for callers that present it in ``dapr-api-token``
(the sidecar does when it has ``APP_API_TOKEN`` in its environment). A body is read
only when it is declared JSON (the sidecar sends ``application/json`` or
``application/cloudevents+json``): a cross-site ``text/plain`` post is never parsed.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, request

from .. import dead_letters
from ..app_token import app_token_rejection
from ..boards import actor_routes
from ..dapr_gateway import GatewayError
from . import DEAD_LETTERS_ROUTE, PERIODIC, STREAMS, Malformed, run_job, run_periodic, subscriptions

log = logging.getLogger(__name__)
bp = Blueprint("inbound", __name__)

SUCCESS, RETRY, DROP = "SUCCESS", "RETRY", "DROP"


@bp.before_request
def require_app_token():
    return app_token_rejection()


@bp.get("/dapr/subscribe")
def dapr_subscribe():
    return jsonify(subscriptions())


@bp.post(DEAD_LETTERS_ROUTE)
def on_dead_letter():
    """Keep whatever reached a dead-letter topic (RETRY if the store is down: never lose one)."""
    envelope = request.get_json(silent=True)
    if not isinstance(envelope, dict) or not envelope.get("id"):
        envelope = {"id": f"unreadable-{request.headers.get('traceparent', '')}",
                    "data": request.get_data(as_text=True)[:2000]}
    try:
        dead_letters.record(envelope)
    except GatewayError as err:
        log.warning("dead letter %s not recorded yet: %s", envelope.get("id"), err)
        return jsonify(status=RETRY)
    return jsonify(status=SUCCESS)


@bp.post("/events/<stream>")
def on_event(stream: str):
    """One delivery: SUCCESS when handled (a duplicate has no second effect), RETRY on infrastructure trouble,
    DROP when malformed."""
    if stream not in STREAMS:
        abort(404)
    envelope = request.get_json(silent=True)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict) or not envelope.get("id"):
        log.warning("dropping malformed delivery on %s", stream)
        return jsonify(status=DROP)
    try:
        STREAMS[stream].handle(envelope["data"])
    except Malformed as err:
        log.warning("dropping event %s on %s: %s", envelope.get("id"), stream, err)
        return jsonify(status=DROP)
    except GatewayError as err:
        log.warning("event %s on %s will be retried: %s", envelope.get("id"), stream, err)
        return jsonify(status=RETRY)
    return jsonify(status=SUCCESS)


@bp.post("/job/<name>")
def on_job(name: str):
    """A Dapr job fired: 200 when handled (or nothing left to do), 503 so the job's failure policy retries."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        log.warning("job %s fired without a JSON object; nothing to do", name)
        return jsonify(status="ignored", reason="no data")
    try:
        outcome = run_job(name, data)
    except Malformed as err:
        log.warning("job %s ignored: %s", name, err)
        return jsonify(status="ignored", reason=str(err))
    except GatewayError as err:
        log.warning("job %s failed, will be retried: %s", name, err)
        return jsonify(status="retry", reason=str(err)), 503
    return jsonify(status=outcome)


# Input bindings: the sidecar POSTs to /<component name> on each trigger.
@bp.post(f"/<any({', '.join(PERIODIC)}):binding>")
def on_binding(binding: str):
    """An input binding fired (503 makes the binding try again on its next trigger)."""
    try:
        counts = run_periodic(binding)
    except GatewayError as err:
        log.warning("%s failed: %s", binding, err)
        return jsonify(status="failed", reason=str(err)), 503
    return jsonify(status="done", **counts)


actor_routes.add_to(bp)  # /dapr/config and /actors/...: the board actors this app hosts
