"""The base both apps are built on: config, logging and request metrics, the gateway, health routes."""

from __future__ import annotations

from typing import Any, Callable

from flask import Flask
from flask.templating import Environment
from jinja2 import Template
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import health, observability, sidecar
from .url_templates import TemplatedUrlFlask
from .dapr_gateway import DaprGateway, GatewaySettings

try:
    from markupsafe import _escape_inner  # the C escaping behind markupsafe.escape (MarkupSafe 3)
except ImportError:  # another MarkupSafe: templates keep its escape
    _escape_inner = None

_new_str = str.__new__


def escape(value: Any, /) -> Markup:
    """``markupsafe.escape(value)``: the same ``Markup``, without the calls in between."""
    if type(value) is str:
        return _new_str(Markup, _escape_inner(value))
    html = getattr(value, "__html__", None)
    if html is not None:
        return _new_str(Markup, html())
    return _new_str(Markup, _escape_inner(str(value)))


class EscapingTemplate(Template):
    """A template whose compiled module escapes its output with ``escape`` above.

    With autoescape on, each ``{{ value }}`` of a compiled template is ``escape(value)``: MarkupSafe 3's is a Python
    function building its ``Markup`` through ``Markup.__new__`` (a Python ``__new__`` that checks ``__html__``
    again), about 0.3-0.5 us a value, and a board of 100 cards outputs 1,302 of them. ``escape`` gives the same
    ``Markup`` (same text, same type) from MarkupSafe's own C escaping, made by ``str.__new__``.
    """

    @classmethod
    def from_code(cls, environment, code, globals, uptodate=None):
        template = super().from_code(environment, code, globals, uptodate)
        if _escape_inner is None:
            return template
        # root, blocks and macros are functions of one module: its globals are the names its code looks up
        template.root_render_func.__globals__["escape"] = escape
        return template


class TemplateEnvironment(Environment):
    """Flask's environment, making ``EscapingTemplate`` templates."""

    template_class = EscapingTemplate


class TaskboardFlask(TemplatedUrlFlask):
    """The apps' Flask: ``url_for`` from templates, templates escaping through ``escape``, and each
    hook's and view's sync check made once.

    Flask asks ``ensure_sync`` for every before/after/teardown hook and the view of every request (an
    ``inspect`` of the function each time); the answer for a function never changes, so it is kept.
    """

    jinja_environment = TemplateEnvironment
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
