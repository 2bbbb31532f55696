"""The base both apps are built on: config, logging and request metrics, the gateway, health routes."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import health, observability, sidecar
from .url_templates import TemplatedUrlFlask
from .dapr_gateway import DaprGateway, GatewaySettings


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
    app = TemplatedUrlFlask(name, **flask_options)
    app.config.from_mapping(config_module.build(test_config))
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.extensions[sidecar.EXTENSION] = make_gateway(app.config)
    observability.init_app(app)
    app.register_blueprint(health.bp)
    return app
