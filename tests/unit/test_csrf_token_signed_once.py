"""The pages' CSRF token (``security.csrf_token``): signed once per session token, and as valid as Flask-WTF's."""

import time

import pytest
from flask import Flask, g, render_template_string, session
from flask_wtf.csrf import CSRFProtect, ValidationError, validate_csrf

from webapp import security


def _app(**config) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "k" * 32, "WTF_CSRF_TIME_LIMIT": None, **config})
    CSRFProtect(app)
    security.register(app)
    security._SIGNED_TOKENS.clear()
    return app


def _token(app: Flask, raw: str | None, template: bool = False) -> str:
    with app.test_request_context("/"):
        if raw is not None:
            session["csrf_token"] = raw
        token = render_template_string("{{ csrf_token() }}") if template else security.csrf_token()
        assert g.csrf_token == token  # what Flask-WTF's forms and the Cache-Control check read
        return token


def test_a_session_token_is_signed_once_and_the_signed_token_validates_in_a_later_request():
    app = _app()
    first = _token(app, "raw-1", template=True)  # the template global is ours
    time.sleep(1.1)  # Flask-WTF would sign with a new timestamp now
    assert _token(app, "raw-1") == first
    with app.test_request_context("/"):
        session["csrf_token"] = "raw-1"
        validate_csrf(first)  # raises if not valid


def test_another_session_or_key_never_gets_the_token_of_another():
    app = _app()
    mine = _token(app, "raw-1")
    theirs = _token(app, "raw-2")
    assert mine != theirs
    with app.test_request_context("/"):
        session["csrf_token"] = "raw-2"
        with pytest.raises(ValidationError):
            validate_csrf(mine)
    app.secret_key = "other" * 8  # a rotated key signs anew
    assert _token(app, "raw-1") != mine


def test_a_new_session_gets_a_raw_token_and_with_a_time_limit_every_page_signs_anew():
    app = _app()
    with app.test_request_context("/"):
        token = security.csrf_token()
        assert session["csrf_token"] and security._SIGNED_TOKENS == {}  # nothing kept for a token just made
        validate_csrf(token)
    limited = _app(WTF_CSRF_TIME_LIMIT=3600)
    first = _token(limited, "raw-1")
    time.sleep(1.1)
    assert _token(limited, "raw-1") != first and security._SIGNED_TOKENS == {}
