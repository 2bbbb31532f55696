"""Security headers on every response."""

from __future__ import annotations

import hmac
import logging

from flask import Flask, current_app, jsonify, request

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")


def register(app: Flask) -> None:
    @app.after_request
    def add_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


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
