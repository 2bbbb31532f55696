"""The session cookie's serializer is built once per secret key, and a new key gets a new one."""

from __future__ import annotations

from flask import Flask

from webapp.app import _SecretStoreSessionInterface


def test_one_serializer_per_secret_key_and_a_new_one_for_a_new_key():
    app = Flask(__name__)
    interface = _SecretStoreSessionInterface()
    app.secret_key = "first"
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    signed = first.dumps({"a": 1})
    app.secret_key = "second"
    second = interface.get_signing_serializer(app)
    assert second is not first
    assert second.loads(second.dumps({"b": 2})) == {"b": 2}
    app.config["SECRET_KEY_FALLBACKS"] = ["first"]
    assert interface.get_signing_serializer(app).loads(signed) == {"a": 1}  # the old key still verifies


def _open(app, interface, cookie):
    with app.test_request_context(headers={"Cookie": f"session={cookie}"}) as ctx:
        return interface.open_session(app, ctx.request)


def test_a_verified_cookie_opens_the_same_session_again_each_its_own_and_is_still_checked(monkeypatch):
    import webapp.app as app_module
    app = Flask(__name__)
    app.secret_key = "first"
    interface = _SecretStoreSessionInterface()
    cookie = interface.get_signing_serializer(app).dumps({"profile": {"id": "u1"}, "n": 1})
    first = _open(app, interface, cookie)
    first["profile"]["id"] = "changed in place"
    again = _open(app, interface, cookie)  # remembered: its own dicts, not the first request's
    assert dict(again) == {"profile": {"id": "u1"}, "n": 1}
    assert len(interface._verifier[2]) == 1
    tampered = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert dict(_open(app, interface, tampered)) == {}
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    now = app_module.time.time()
    monkeypatch.setattr(app_module.time, "time", lambda: now + lifetime + 5)
    assert dict(_open(app, interface, cookie)) == {}  # expired, though remembered
    monkeypatch.undo()
    app.secret_key = "second"  # a new key: the remembered cookie is verified again, and fails
    assert dict(_open(app, interface, cookie)) == {}
    app.config["SECRET_KEY_FALLBACKS"] = ["first"]
    assert dict(_open(app, interface, cookie)) == {"profile": {"id": "u1"}, "n": 1}
