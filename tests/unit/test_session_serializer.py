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
