"""Taskboard: the app factory of the web app (app-id ``taskboard``)."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import sidecar
from .dapr_gateway import DaprGateway, GatewayError, GatewaySettings, Unavailable

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()
login_manager = LoginManager()


def make_gateway(config: dict) -> DaprGateway:
    """The app's gateway to its sidecar (no connection is made here)."""
    return DaprGateway(GatewaySettings(
        grpc_address=config["DAPR_GRPC_ADDRESS"],
        http_endpoint=config["DAPR_HTTP_ENDPOINT"],
        state_store=config["STATE_STORE"],
        pubsub=config["PUBSUB"],
        secret_store=config["SECRET_STORE"],
        lock_store=config["LOCK_STORE"],
        timeout_seconds=config["DAPR_TIMEOUT_SECONDS"],
        health_timeout_seconds=config["DAPR_HEALTH_TIMEOUT_SECONDS"],
        api_token=config["DAPR_API_TOKEN"],
    ))


def base_app(name: str, test_config: dict | None) -> Flask:
    """A Flask app with config, the gateway, proxy headers and health routes."""
    app = Flask(name, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_mapping(config_module.build(test_config))
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.extensions[sidecar.EXTENSION] = make_gateway(app.config)

    from . import health, observability
    observability.init_app(app)
    app.register_blueprint(health.bp)
    return app


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Taskboard web app."""
    app = base_app(__name__, test_config)
    app.config["INBOUND_SUBSCRIPTIONS"] = "taskboard"

    _load_secret_key_lazily(app)  # first: CSRF and sessions need the key
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from . import admin, api, auth, errors, inbound, notifications, security, tasks
    api.init_app(app, csrf)  # before errors.register: our handlers take precedence over flask-smorest's
    app.register_blueprint(auth.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(inbound.bp)
    app.register_blueprint(admin.bp)
    csrf.exempt(inbound.bp)
    errors.register(app)
    security.register(app)
    _register_template_helpers(app)
    _register_commands(app)
    # Browsers and crawlers ask for /favicon.ico whatever the page links; answer it instead of a 404.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    return app


def _register_commands(app: Flask) -> None:
    import click

    def set_admin(username: str, admin: bool) -> None:
        from .auth import users
        from .dapr_gateway import GatewayError, NotFound
        try:
            user = users.set_admin(username, admin)
        except NotFound:
            raise click.ClickException(f"no account named {username!r}") from None
        except GatewayError as err:
            raise click.ClickException(f"the state store could not be updated: {err}") from None
        click.echo(f"{user.username} is {'now' if admin else 'no longer'} an operator")

    @app.cli.command("grant-admin")
    @click.argument("username")
    def grant_admin(username):
        """Give an existing account the operator pages (/admin)."""
        set_admin(username, True)

    @app.cli.command("revoke-admin")
    @click.argument("username")
    def revoke_admin(username):
        """Take the operator pages away from an account (effective on its next admin request)."""
        set_admin(username, False)

    @app.cli.command("reconcile-reminders")
    def reconcile_reminders():
        """Re-create reminder jobs missing from the scheduler (e.g. after losing its data)."""
        from . import reminders, sweep
        counts = reminders.reconcile(sweep.all_user_ids())
        click.echo(f"checked {counts['checked']} reminders, re-created {counts['created']} jobs")


def _register_template_helpers(app: Flask) -> None:
    from flask_login import current_user

    from . import notifications, timezones
    from .dapr_gateway import GatewayError

    @app.template_filter("localtime")
    def localtime(value):
        """A stored UTC time in the signed-in user's zone, e.g. 'Mon 3 Mar 2025, 14:05'."""
        tz = current_user.timezone if current_user.is_authenticated else None
        local = timezones.to_local(value, tz)
        return f"{local:%a} {local.day} {local:%b %Y, %H:%M}" if local else ""

    @app.context_processor
    def unread():
        if not current_user.is_authenticated:
            return {}
        from .admin import is_admin  # from the session; admin pages re-check the stored right
        try:
            return {"unread_count": notifications.unread_count(current_user.id), "is_admin": is_admin()}
        except GatewayError:
            return {"unread_count": None, "is_admin": is_admin()}  # the page still renders; the badge waits


class _SecretStoreSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose key is read from the Dapr secret store.

    The key is read per worker process when the first request opens a session
    (not at import, so nothing connects before gunicorn forks, and a worker
    may start before its sidecar). While it cannot be read, the request gets a
    null session and the pages answer 503.
    """

    def __init__(self):
        self._lock = threading.Lock()

    def open_session(self, app, request):
        if not app.secret_key:
            with self._lock:
                if not app.secret_key:
                    try:
                        app.secret_key = app.extensions[sidecar.EXTENSION].secret(app.config["SECRET_KEY_NAME"])
                    except GatewayError as err:
                        app.logger.error("cannot read the Flask secret key yet: %s", err)
                        return None
        return super().open_session(app, request)


def _load_secret_key_lazily(app: Flask) -> None:
    """Pages need the secret key; health and inbound Dapr routes do not."""
    app.session_interface = _SecretStoreSessionInterface()

    @app.before_request
    def require_secret_key():
        if not app.secret_key and request.blueprint not in ("health", "inbound"):
            raise Unavailable("the Flask secret key could not be read from the secret store")
