"""All inbound Dapr traffic: subscriptions, job triggers, binding triggers, actor calls (``boards/actor_routes``).

CSRF-exempt (registered so in the factory), JSON in and out, and — when an app
API token is configured — only for callers that present it in ``dapr-api-token``
(the sidecar does when it has ``APP_API_TOKEN`` in its environment). A body is read
only when it is declared JSON (the sidecar sends ``application/json`` or
``application/cloudevents+json``): a cross-site ``text/plain`` post is never parsed.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, jsonify, request

from . import admin, consumers, sweep
from .dapr_gateway import GatewayError
from .app_token import app_token_rejection
from .boards import actor_routes

log = logging.getLogger(__name__)
bp = Blueprint("inbound", __name__)

SUCCESS, RETRY, DROP = "SUCCESS", "RETRY", "DROP"


def subscriptions() -> list[dict]:
    """What this app subscribes to; the topic names come from config."""
    cfg = current_app.config
    pubsub = cfg["PUBSUB"]
    return [
        {"pubsubname": pubsub, "topic": cfg["TASK_EVENTS_TOPIC"], "route": "/events/task-events",
         "deadLetterTopic": f"{cfg['TASK_EVENTS_TOPIC']}-deadletter"},
        {"pubsubname": pubsub, "topic": cfg["TASK_UPDATES_TOPIC"], "route": "/events/task-updates",
         "deadLetterTopic": f"{cfg['TASK_UPDATES_TOPIC']}-deadletter"},
        # The dead-letter topics themselves: what lands there is kept for the operator page.
        {"pubsubname": pubsub, "topic": f"{cfg['TASK_EVENTS_TOPIC']}-deadletter", "route": "/events/dead-letters"},
        {"pubsubname": pubsub, "topic": f"{cfg['TASK_UPDATES_TOPIC']}-deadletter", "route": "/events/dead-letters"},
    ]


HANDLERS = {
    "task-events": consumers.on_task_event,
    "task-updates": consumers.on_task_update,
}


@bp.before_request
def require_app_token():
    return app_token_rejection()


@bp.get("/dapr/subscribe")
def dapr_subscribe():
    return jsonify(subscriptions())


@bp.post("/events/dead-letters")
def on_dead_letter():
    """Keep whatever reached a dead-letter topic (RETRY if the store is down: never lose one)."""
    envelope = request.get_json(silent=True)
    if not isinstance(envelope, dict) or not envelope.get("id"):
        envelope = {"id": f"unreadable-{request.headers.get('traceparent', '')}",
                    "data": request.get_data(as_text=True)[:2000]}
    try:
        admin.record(envelope)
    except GatewayError as err:
        log.warning("dead letter %s not recorded yet: %s", envelope.get("id"), err)
        return jsonify(status=RETRY)
    return jsonify(status=SUCCESS)


@bp.post("/events/<stream>")
def on_event(stream: str):
    """One delivery: SUCCESS when handled (a duplicate has no second effect), RETRY on infrastructure trouble,
    DROP when malformed."""
    handler = HANDLERS.get(stream)
    if handler is None:
        abort(404)
    envelope = request.get_json(silent=True)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict) or not envelope.get("id"):
        log.warning("dropping malformed delivery on %s", stream)
        return jsonify(status=DROP)
    try:
        handler(envelope["data"])
    except consumers.Malformed as err:
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
        outcome = consumers.on_job(name, data)
    except consumers.Malformed as err:
        log.warning("job %s ignored: %s", name, err)
        return jsonify(status="ignored", reason=str(err))
    except GatewayError as err:
        log.warning("job %s failed, will be retried: %s", name, err)
        return jsonify(status="retry", reason=str(err)), 503
    return jsonify(status=outcome)


# Input bindings: the sidecar POSTs to /<component name> on each trigger.
BINDINGS = {
    "cron": sweep.on_cron,  # overdue alerts, daily digest, outbox backstop (one replica per period)
    "relay": sweep.on_relay,  # outboxes the fast path could not publish (one replica per period)
}


@bp.post("/<any(cron, relay):binding>")
def on_binding(binding: str):
    """An input binding fired (503 makes the binding try again on its next trigger)."""
    try:
        counts = BINDINGS[binding]()
    except GatewayError as err:
        log.warning("%s failed: %s", binding, err)
        return jsonify(status="failed", reason=str(err)), 503
    return jsonify(status="done", **counts)


actor_routes.add_to(bp)  # /dapr/config and /actors/...: the board actors this app hosts
