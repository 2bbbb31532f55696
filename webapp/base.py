"""The base both apps are built on: config, logging and request metrics, the gateway, health routes."""

from __future__ import annotations

from typing import Any, Callable

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import health, observability, sidecar
from .url_templates import TemplatedUrlFlask
from .dapr_gateway import DaprGateway, GatewaySettings


class TaskboardFlask(TemplatedUrlFlask):
    """The apps' Flask: ``url_for`` from templates, and each hook's and view's sync check made once.

    Flask asks ``ensure_sync`` for every before/after/teardown hook and the view of every request (an
    ``inspect`` of the function each time); the answer for a function never changes, so it is kept.
    """

    MAX_KEPT = 4096  # functions whose answer is kept (the app's hooks and views are a few hundred)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_of: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` itself, or wrapped to run synchronously if it is a coroutine function (as Flask's)."""
        kept = self._sync_of.get(func)
        if kept is None:
            kept = super().ensure_sync(func)
            if len(self._sync_of) < self.MAX_KEPT:
                self._sync_of[func] = kept
        return kept


def make_gateway(config: dict) -> DaprGateway:
    """The app's gateway to its sidecar (no connection is made here)."""
    return DaprGateway(GatewaySettings(
        grpc_address=config["DAPR_GRPC_ADDRESS"],
        http_endpoint=config["DAPR_HTTP_ENDPOINT"],
        state_store=config["STATE_STORE"],
        pubsub=config["PUBSUB"],
        secret_store=config["SECRET_STORE"],
        timeout_seconds=config["DAPR_TIMEOUT_SECONDS"],
        health_timeout_seconds=config["DAPR_HEALTH_TIMEOUT_SECONDS"],
        api_token=config["DAPR_API_TOKEN"],
        job_retry_interval_seconds=config["JOB_RETRY_INTERVAL_SECONDS"],
        job_max_retries=config["JOB_MAX_RETRIES"],
    ))


def base_app(name: str, test_config: dict | None, **flask_options) -> Flask:
    """A Flask app with config, the gateway, proxy headers, logging with trace ids, and health routes."""
    app = TaskboardFlask(name, **flask_options)
    app.config.from_mapping(config_module.build(test_config))
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.extensions[sidecar.EXTENSION] = make_gateway(app.config)
    observability.init_app(app)
    app.register_blueprint(health.bp)
    return app
