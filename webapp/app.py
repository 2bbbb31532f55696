"""The web app's factory (app-id ``taskboard``): pages, API, sign-in, CSRF and the inbound Dapr routes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from flask_login import current_user

from . import api, commands, errors, markdown, notifications, security, sidecar, timezones
from .accounts import routes as account_routes
from .accounts import sessions as account_sessions
from .accounts import settings_section as account_settings
from .accounts import data_views, oidc, oidc_views, two_factor_views
from .admin import routes as admin_routes
from .appearance import routes as appearance_routes
from .auth import routes as auth_routes
from .background import routes as inbound
from .boards import routes as board_routes
from .boards import task_routes
from .checklists import routes as checklist_routes
from .comments import routes as comment_routes
from .calendar_feed import routes as calendar_feed_routes
from .base import base_app
from .dapr_gateway import GatewayError, Unavailable
from .extensions import csrf, login_manager
from .my_tasks import routes as my_task_routes
from .notifications import routes as notification_routes

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Taskboard web app."""
    app = base_app(__name__, test_config, template_folder=str(ROOT / "templates"),
                   static_folder=str(ROOT / "static"))
    app.config["INBOUND_SUBSCRIPTIONS"] = "taskboard"

    _load_secret_key_lazily(app)  # first: CSRF and sessions need the key
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    api.init_app(app, csrf)  # before errors.register: our handlers take precedence over flask-smorest's
    app.register_blueprint(auth_routes.bp)
    app.register_blueprint(task_routes.bp)
    app.register_blueprint(board_routes.bp)
    app.register_blueprint(comment_routes.bp)
    app.register_blueprint(checklist_routes.bp)
    app.register_blueprint(my_task_routes.bp)
    app.register_blueprint(calendar_feed_routes.bp)
    app.register_blueprint(appearance_routes.bp)
    app.register_blueprint(notification_routes.bp)
    app.register_blueprint(inbound.bp)
    app.register_blueprint(admin_routes.bp)
    app.register_blueprint(account_routes.bp)
    app.register_blueprint(two_factor_views.bp)
    app.register_blueprint(oidc_views.bp)
    if app.config["OIDC_ISSUER"]:
        oidc.libraries()  # imported before gunicorn forks, so the workers share them
    app.register_blueprint(data_views.bp)
    csrf.exempt(inbound.bp)
    csrf.exempt(account_routes.unsubscribe)  # mail clients post the signed link with no session (RFC 8058)
    account_sessions.register(app)
    account_settings.register(app)
    errors.register(app)
    security.register(app)
    _register_template_helpers(app)
    commands.register(app)
    # Browsers and crawlers ask for /favicon.ico whatever the page links; answer it instead of a 404.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    return app


def _register_template_helpers(app: Flask) -> None:
    app.add_template_filter(markdown.render, "markdown")  # descriptions and comments, sanitised

    @app.template_filter("localtime")
    def localtime(value):
        """A stored UTC time in the signed-in user's zone, e.g. 'Mon 3 Mar 2025, 14:05'."""
        user = current_user._get_current_object()  # the proxy resolved once, not per attribute
        return timezones.local_text(value, user.timezone if user.is_authenticated else None)

    @app.context_processor
    def unread():
        """The badge: one read of the inbox head, or none when the page read it with its own data (the list)."""
        if not current_user.is_authenticated:
            return {}
        is_admin = admin_routes.is_admin()  # from the session; admin pages re-check the stored right
        try:
            return {"unread_count": notifications.unread_count(current_user.id), "is_admin": is_admin}
        except GatewayError:
            return {"unread_count": None, "is_admin": is_admin}  # the page still renders; the badge waits


class _SignedJson:
    """The payload serializer of the verifying signer: ``loads`` gives the JSON as it was signed (bytes), which
    the session interface decodes per request."""

    @staticmethod
    def loads(payload: bytes) -> bytes:
        return payload

    @staticmethod
    def dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


class _SecretStoreSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose key is read from the Dapr secret store.

    The key is read per worker process when the first request opens a session
    (not at import, so nothing connects before gunicorn forks, and a worker
    may start before its sidecar). While it cannot be read, the request gets a
    null session and the pages answer 503.

    A cookie whose signature was verified is remembered with its timestamp and JSON (at most
    ``VERIFIED_KEPT``, for the keys it was verified with): the next request with the same cookie (a board's
    poll every 1.5 s) checks only its age, as itsdangerous does, and decodes the JSON into a session of its own.
    """

    VERIFIED_KEPT = 256

    def __init__(self):
        self._lock = threading.Lock()
        self._serializer: tuple[tuple, object] | None = None  # (keys it signs with, serializer)
        self._verifier: tuple[tuple, object, dict] | None = None  # (keys, verifying serializer, cookie -> (ts, json))

    def get_signing_serializer(self, app):
        """Flask's serializer, built once per secret key (and fallbacks) instead of for every request."""
        keys = self._keys(app)
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]

    @staticmethod
    def _keys(app) -> tuple:
        return (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))

    def open_session(self, app, request):
        if not app.secret_key:
            with self._lock:
                if not app.secret_key:
                    try:
                        app.secret_key = sidecar.gateway().secret(app.config["SECRET_KEY_NAME"])
                    except GatewayError as err:
                        app.logger.error("cannot read the Flask secret key yet: %s", err)
                        return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            signed_json = self._verified_json(app, cookie, max_age)
        except BadSignature:  # also an expired one (SignatureExpired)
            return self.session_class()
        return self.session_class(self.serializer.loads(signed_json))

    def _verified_json(self, app, cookie: str, max_age: int):
        """The JSON the cookie was signed with; ``BadSignature`` / ``SignatureExpired`` as itsdangerous raises."""
        keys = self._keys(app)
        verifier = self._verifier
        if verifier is None or verifier[0] != keys:
            signing = self.get_signing_serializer(app)
            verifier = self._verifier = (keys, URLSafeTimedSerializer(
                signing.secret_keys, salt=self.salt, serializer=_SignedJson,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method}), {})
        _, verifying, verified = verifier
        known = verified.get(cookie)
        if known is None:
            payload, signed_at = verifying.loads(cookie, max_age=max_age, return_timestamp=True)
            known = (int(signed_at.timestamp()), payload)
            if len(verified) >= self.VERIFIED_KEPT:
                verified.clear()
            verified[cookie] = known
        age = int(time.time()) - known[0]
        if age > max_age or age < 0:
            raise SignatureExpired(f"Signature age {age} is not within 0..{max_age} seconds")
        return known[1]


def _load_secret_key_lazily(app: Flask) -> None:
    """Pages need the secret key; health and inbound Dapr routes do not."""
    app.session_interface = _SecretStoreSessionInterface()

    @app.before_request
    def require_secret_key():
        if not app.secret_key and request.blueprint not in ("health", "inbound"):
            raise Unavailable("the Flask secret key could not be read from the secret store")
