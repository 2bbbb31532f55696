"""notification-service's one route: ``POST /notify``, called through Dapr service invocation."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

from ..app_token import app_token_rejection
from ..dapr_gateway import GatewayError
from . import email
from .delivery import KINDS, announce_if_delivered, send_once

log = logging.getLogger(__name__)
bp = Blueprint("notifier", __name__)
IN_PROGRESS_RETRY_AFTER = "5"


@bp.before_request
def require_app_token():
    return app_token_rejection()


def _invalid(message: str):
    return jsonify(error="invalid", message=message), 422


@bp.post("/notify")
def notify():
    """Deliver and announce one notification; a repeated id has no second delivery. ``announce_only``: deliver
    nothing new, only announce again one already delivered (``announce_if_delivered``)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _invalid("expected a JSON object")
    missing = [k for k in ("notification_id", "user_id", "kind", "message") if not body.get(k)]
    if missing:
        return _invalid(f"missing {', '.join(missing)}")
    if body["kind"] not in KINDS:
        return _invalid(f"unknown kind {body['kind']!r}")
    notification = {k: str(body[k])[:1000] if body.get(k) is not None else None
                    for k in ("notification_id", "user_id", "task_id", "kind", "message")}
    if body.get("email") is not None:
        problem = email.check(body["email"])
        if problem:
            return _invalid(problem)
        notification["email"] = {k: body["email"][k] for k in email.FIELDS if body["email"].get(k) is not None}
    notification_id = notification["notification_id"]
    try:
        outcome = announce_if_delivered(notification) if body.get("announce_only") is True else send_once(notification)
    except GatewayError as err:
        log.error("notification %s not sent: %s", notification_id, err)
        return jsonify(error="unavailable", message="notification not sent; try again"), 503
    if outcome == "in_progress":
        # Another attempt is delivering it now: the caller tries again later and then gets "duplicate" (or, if
        # that attempt died, delivers it itself). A 2xx: through Dapr every non-2xx counts toward the resiliency
        # policy's circuit breaker, and a few such expected answers would stop every notification for a while.
        return (jsonify(status="in_progress", notification_id=notification_id), 202,
                {"Retry-After": IN_PROGRESS_RETRY_AFTER})
    if outcome == "sent":
        log.info("notification %s sent to user %s", notification_id, notification["user_id"])
    return jsonify(status=outcome, notification_id=notification_id)
