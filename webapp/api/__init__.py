"""The JSON API (seed 004's operations) with bearer tokens, ETag / If-Match and an OpenAPI 3 document.

flask-smorest generates ``/api/v1/openapi.json`` from the schemas and views.
"""

from __future__ import annotations

from flask import Flask

from .common import API_CONFIG, api, blp
from . import tasks  # noqa: F401,I001  (the task routes on the shared blueprint, first as ever)
from . import boards  # noqa: F401  (the board routes)


def init_app(app: Flask, csrf) -> None:
    """Register the API, its blueprint and its OpenAPI document on ``app`` (CSRF-exempt: bearer tokens only)."""
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api.init_app(app)
    api.register_blueprint(blp)
    csrf.exempt(blp)  # bearer tokens, no cookies: nothing for a forged form to ride on
