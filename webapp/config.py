"""Configuration in three layers: defaults here, environment overrides, a test mapping.

Dapr component names are configuration; their defaults equal ``metadata.name``
in ``components/``.
"""

from __future__ import annotations

import os


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; raised at start-up."""


DEFAULTS: dict[str, object] = {
    "ENV": "development",  # "production" turns on Secure cookies and requires the app token
    "APP_ID": "taskboard",
    # Sidecar
    "DAPR_GRPC_ADDRESS": None,  # defaults to 127.0.0.1:$DAPR_GRPC_PORT
    "DAPR_GRPC_PORT": 50001,
    "DAPR_HTTP_ENDPOINT": None,  # defaults to http://127.0.0.1:$DAPR_HTTP_PORT
    "DAPR_HTTP_PORT": 3500,
    "DAPR_TIMEOUT_SECONDS": 5.0,
    "DAPR_HEALTH_TIMEOUT_SECONDS": 1.5,
    "DAPR_API_TOKEN": None,  # token this app sends to its sidecar
    "APP_API_TOKEN": None,  # token the sidecar sends to this app (inbound routes check it)
    # Every Dapr job's failure policy: a firing not accepted is retried every 30 s for 20 minutes (a rollout)
    "JOB_RETRY_INTERVAL_SECONDS": 30,
    "JOB_MAX_RETRIES": 40,
    # Component and topic names
    "STATE_STORE": "statestore",
    "PUBSUB": "pubsub",
    "SECRET_STORE": "secretstore",
    "TASK_EVENTS_TOPIC": "task-events",
    "TASK_UPDATES_TOPIC": "task-updates",
    "NOTIFY_APP_ID": "notification-service",
    "NOTIFY_METHOD": "notify",
    "NOTIFY_BINDING": "notify-delivery",
    "NOTIFY_BINDING_OPERATION": "create",
    "SECRET_KEY_NAME": "flask-secret-key",
    # E-mail: the SMTP output binding of notification-service, where links in mail point, and how long an
    # account mail is retried before it is dead-lettered (webapp/accounts/mail.py)
    "NOTIFY_EMAIL_BINDING": "notify-email",
    "PUBLIC_URL": "http://127.0.0.1:8000",
    "MAIL_GIVE_UP_SECONDS": 900,
    "MAIL_LOCK_FILE": "/tmp/taskboard-notify-email.lock",
    "REQUIRED_COMPONENTS": "statestore,pubsub,secretstore",
    # Product
    "TASKS_PER_PAGE": 20,
    "INBOX_LIMIT": 200,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_SECONDS": 900,
    "LOGIN_ACCOUNT_FREE_ATTEMPTS": 20,  # per account from every client, then slowed (webapp/auth/throttling.py)
    "LOGIN_ACCOUNT_MAX_DELAY_SECONDS": 60,
    "IDEMPOTENCY_TTL_SECONDS": 86400,
    "MAX_TASKS_PER_BOARD": 5000,  # live tasks per board (+ as many tombstones): an index of ~1 MB of plain text
    # A board's index in bytes as stored: a change that would pass it is refused, so the index and the list
    # page's one bulk read (index, inbox head, memberships, board) stay under daprd's 4 MiB message limit.
    "INDEX_MAX_BYTES": 3 * 1024 * 1024,
    # Single sign-on with an OpenID Connect provider (webapp/accounts/oidc.py): on when OIDC_ISSUER is set.
    # The app reaches the provider only through the HTTP output binding OIDC_BINDING (its url: the issuer's origin).
    "OIDC_ISSUER": None,  # e.g. https://login.example.org/ (exactly the ID tokens' "iss")
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET_NAME": "oidc-client-secret",  # its key in the Dapr secret store
    "OIDC_BINDING": "oidc-provider",
    "OIDC_SCOPES": "openid profile email",
    "OIDC_PROVIDER_LABEL": "single sign-on",  # shown as "Sign in with …"
    "OIDC_REDIRECT_URI": None,  # default: this app's /login/oidc/callback as the request reached it
    "SSO_ONLY": False,  # refuse password sign-in and registration: the provider is the only way in
    "MY_TASKS_MAX_BYTES": 1024 * 1024,  # a person's "My tasks" index: the soonest due of ≈ 4,000 open tasks
    # Shared boards: each board's index rows are written in turns by its Dapr actor (webapp/boards/actor.py);
    # a request waits this long for the turn, then writes the row itself (optimistic, ETag-guarded)
    "BOARD_ACTORS": True,
    "BOARD_ACTOR_SECONDS": 2.0,
    # Flask
    "SECRET_KEY": None,  # read from the Dapr secret store unless set (tests)
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # token valid for the session's lifetime
    "DRAIN_FILE": "/tmp/taskboard-draining",  # created by the preStop hook: readiness turns 503
    "PROXY_FIX_HOPS": 0,  # set to 1 behind an ingress
    "LOG_FORMAT": None,  # "json" or "text"; default: json in production, text otherwise
}

# Settings that were removed, and what replaces them (start-up fails while one is still set).
RETIRED = {
    "ADMIN_USERNAMES": "operators are accounts granted with `flask --app wsgi grant-admin USERNAME`",
}

# Settings renamed, by their old name: an operator's old variable still sets the new one (the new name wins).
RENAMED = {"MAX_TASKS_PER_USER": "MAX_TASKS_PER_BOARD"}

# Environment variables read without the TASKBOARD_ prefix (Dapr's own names).
UNPREFIXED = {"DAPR_GRPC_PORT", "DAPR_HTTP_PORT", "DAPR_API_TOKEN", "APP_API_TOKEN"}


def _coerce(default: object, raw: str, name: str) -> object:
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes", "on")
    try:
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as err:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from err
    return raw


def from_environment(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Settings overridden by ``TASKBOARD_<NAME>`` (or Dapr's own variable names)."""
    environ = os.environ if environ is None else environ
    found = {}
    old_names = {new: old for old, new in RENAMED.items()}
    for name, default in DEFAULTS.items():
        raw = environ.get(name) if name in UNPREFIXED else None
        raw = environ.get(f"TASKBOARD_{old_names[name]}", raw) if name in old_names else raw
        raw = environ.get(f"TASKBOARD_{name}", raw)
        if raw not in (None, ""):
            found[name] = _coerce(default, raw, name)
    return found


def build(test_config: dict | None = None, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Merge defaults, environment and the test mapping; check what production needs."""
    config = {**DEFAULTS, **from_environment(environ), **(test_config or {})}
    if not config["DAPR_GRPC_ADDRESS"]:
        config["DAPR_GRPC_ADDRESS"] = f"127.0.0.1:{config['DAPR_GRPC_PORT']}"
    if not config["DAPR_HTTP_ENDPOINT"]:
        config["DAPR_HTTP_ENDPOINT"] = f"http://127.0.0.1:{config['DAPR_HTTP_PORT']}"
    production = config["ENV"] == "production"
    config["LOG_FORMAT"] = config["LOG_FORMAT"] or ("json" if production else "text")
    config.setdefault("SESSION_COOKIE_SECURE", production)
    config["SESSION_COOKIE_SECURE"] = production or bool(config.get("SESSION_COOKIE_SECURE"))
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    for name in RETIRED:
        if (environ if environ is not None else os.environ).get(f"TASKBOARD_{name}"):
            raise ConfigError(f"TASKBOARD_{name} is no longer read: {RETIRED[name]}")
    if config["SSO_ONLY"] and not (config["OIDC_ISSUER"] and config["OIDC_CLIENT_ID"]):
        raise ConfigError("SSO_ONLY needs OIDC_ISSUER and OIDC_CLIENT_ID: without a provider no one could sign in")
    if config["OIDC_ISSUER"] and not config["OIDC_CLIENT_ID"]:
        raise ConfigError("OIDC_ISSUER is set but OIDC_CLIENT_ID is not: single sign-on needs both")
    if production and not config["APP_API_TOKEN"]:
        raise ConfigError("APP_API_TOKEN must be set in production: inbound Dapr routes check it")
    return config
