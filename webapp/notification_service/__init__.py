"""notification-service: its own app factory, run as its own process beside its own sidecar.

``POST /notify`` (called through Dapr service invocation) delivers each
notification id once, then publishes ``notification.sent`` on ``task-updates``
for the web app's inbox. Two records make it once (``delivery``):

    notification:<id>       the claim, created only if absent (first write wins)
                            before delivering, so a concurrent call for the same
                            id answers 202 "in progress" (its caller retries
                            later) instead of delivering again;
    notification-done:<id>  ``delivered``, written right after the delivery
                            and before the announcement (a retry answers
                            "duplicate" and only announces again).

A delivery that fails gives its claim up, so the caller's retry delivers. A
claim older than ``CLAIM_STALE_AFTER`` with no done marker belongs to an attempt
that died mid-delivery; the next call takes it over (ETag-guarded) and delivers.
The sidecar does not retry the binding call itself: a channel that times out
after accepting (a slow webhook, an SMTP server) would deliver twice.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from ..base import base_app
from ..dapr_gateway import Conflict, NotFound, Rejected, Unavailable
from .routes import bp

log = logging.getLogger(__name__)
UNAVAILABLE_RETRY_AFTER = "5"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the notification-service app."""
    app = base_app(__name__, {"APP_ID": "notification-service",
                              "REQUIRED_COMPONENTS": "statestore,pubsub,notify-delivery", **(test_config or {})},
                   static_folder=None)  # no pages, no files: its only routes are /notify and the probes
    app.register_blueprint(bp)
    register_errors(app)
    return app


def json_error(status: int, error: str, message: str):
    """The service's error answer: ``{"error", "message", "status"}`` with ``status``."""
    return jsonify(error=error, message=message, status=status), status


def register_errors(app: Flask) -> None:
    """Every failure answers JSON (its callers are sidecars and probes, never a browser)."""

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        body, status = json_error(err.code or 500, (err.name or "error").lower().replace(" ", "_"),
                                  err.description or err.name)
        allowed = getattr(err, "valid_methods", None)  # a 405 says which methods the URL takes
        return body, status, {"Allow": ", ".join(allowed)} if allowed else {}

    @app.errorhandler(NotFound)
    def not_found(err):
        return json_error(404, "not_found", "There is nothing here.")

    @app.errorhandler(Conflict)
    def conflict(err):
        return json_error(409, "conflict", "Changed by someone else at the same time; try again.")

    @app.errorhandler(Rejected)
    def rejected(err):
        log.warning("rejected by sidecar: %s", err)
        return json_error(400, "rejected", "The request was refused as invalid.")

    @app.errorhandler(Unavailable)
    def unavailable(err):
        log.error("infrastructure unavailable: %s", err)
        body, status = json_error(503, "unavailable", "The sidecar or a component did not answer; try again.")
        return body, status, {"Retry-After": UNAVAILABLE_RETRY_AFTER}

    @app.errorhandler(Exception)
    def unexpected(err):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal_error", "An unexpected error happened. It has been logged.")
