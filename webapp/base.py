"""The base both apps are built on: config, logging and request metrics, the gateway, health routes, and the
templates' runtime (their escaping and calls)."""

from __future__ import annotations

from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any, Callable

from flask import Flask
from flask.templating import Environment
from jinja2 import Template
from jinja2.runtime import Context
from jinja2.utils import internalcode
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


class TemplateContext(Context):
    """Jinja's template context, calling a plain function, bound method or builtin without its per-call probes.

    Every call in a template (``url_for``, ``csrf_token()``, ``task.is_overdue(now)``, ``members.get``) goes
    through ``Context.call``, which looks for ``jinja_pass_arg`` on the callable and on its ``__call__``: two
    failed attribute look-ups, about 1.5 us a call. A function or a function's bound method carries that marker
    (``pass_context`` and the like) in the function's ``__dict__``, and a builtin cannot carry it: those are
    called here directly, everything else (marked functions, macros, callable objects) by Jinja's ``call``.
    """

    @internalcode
    def call(self, obj, /, *args, **kwargs):
        kind = type(obj)
        if kind is MethodType:
            func = obj.__func__
            plain = type(func) is FunctionType and "jinja_pass_arg" not in func.__dict__
        elif kind is FunctionType:
            plain = "jinja_pass_arg" not in obj.__dict__
        else:
            plain = kind is BuiltinFunctionType
        if not plain:
            return super().call(obj, *args, **kwargs)
        if kwargs:  # what Jinja gives a context function only
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return obj(*args, **kwargs)
        except StopIteration:  # as Context.call answers it
            return self.environment.undefined("value was undefined because a callable raised a StopIteration"
                                              " exception")


class TemplateEnvironment(Environment):
    """Flask's environment, making ``EscapingTemplate`` templates with ``TemplateContext`` contexts."""

    template_class = EscapingTemplate
    context_class = TemplateContext


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
