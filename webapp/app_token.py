"""The check of calls the sidecar makes to an app (events, jobs, bindings, invocations): its app token."""

from __future__ import annotations

import hmac
import logging

from flask import current_app, jsonify, request

log = logging.getLogger(__name__)


def app_token_rejection():
    """A 401 response unless the caller presents the app API token (when one is configured).

    The sidecar sends ``dapr-api-token`` on every call to the app when its
    environment has ``APP_API_TOKEN``; the app holds the same value.
    """
    expected = current_app.config.get("APP_API_TOKEN")
    if not expected:
        return None
    given = request.headers.get("dapr-api-token", "")
    if hmac.compare_digest(given.encode(), str(expected).encode()):
        return None
    log.warning("inbound %s without a valid app token from %s", request.path, request.remote_addr)
    return jsonify(error="unauthorized", message="missing or invalid dapr-api-token"), 401
