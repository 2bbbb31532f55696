"""Single sign-on's pure parts: ID token checks (with a key made here), new-account names, settings."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from webapp import config
from webapp.accounts import oidc, sso_accounts

ISSUER, CLIENT = "https://login.example.org/", "taskboard"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})


@pytest.fixture
def provider_app(monkeypatch):
    app = Flask(__name__)
    app.config.update(OIDC_ISSUER=ISSUER, OIDC_CLIENT_ID=CLIENT, OIDC_BINDING="oidc-provider")
    monkeypatch.setattr(oidc, "_keys", lambda refresh=False: KeySet([KEY]))
    with app.app_context():
        yield app


def _token(key=KEY, **claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "s-1", "aud": CLIENT, "iat": now, "exp": now + 300, "nonce": "n-1", **claims}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, body, key)


def test_a_valid_id_token_gives_its_claims(provider_app):
    assert oidc.verify_id_token(_token(), "n-1")["sub"] == "s-1"


@pytest.mark.parametrize("claims,key", [
    ({"nonce": "another"}, KEY), ({"aud": "someone-else"}, KEY), ({"iss": "https://evil.example/"}, KEY),
    ({"exp": int(time.time()) - 3600}, KEY), ({}, OTHER_KEY)],
    ids=["nonce", "audience", "issuer", "expired", "signature"])
def test_an_id_token_that_is_not_for_this_sign_in_is_refused(provider_app, claims, key):
    with pytest.raises(oidc.SignInFailed, match="could not be verified"):
        oidc.verify_id_token(_token(key, **claims), "n-1")


def test_the_app_calls_no_endpoint_off_the_issuers_site(provider_app):
    with pytest.raises(oidc.SignInFailed, match="another site"):
        oidc._call("GET", "https://evil.example/.well-known/openid-configuration")


def test_a_new_accounts_name_comes_from_the_provider_and_is_made_unique():
    named = oidc.Identity(ISSUER, "s", preferred_username="ada@example.org")
    assert sso_accounts.name_base(named) == "ada"
    assert sso_accounts.name_base(oidc.Identity(ISSUER, "s", email="grace.hopper@navy.mil")) == "grace.hopper"
    assert sso_accounts.name_base(oidc.Identity(ISSUER, "s", name="Zoë Ünicode")) == "Zo-nicode"
    assert sso_accounts.name_base(oidc.Identity(ISSUER, "s")) == "user"
    names = sso_accounts.candidate_names("ada")
    assert [next(names) for _ in range(3)] == ["ada", "ada-2", "ada-3"]
    assert sso_accounts.key(ISSUER, "a\nb") != sso_accounts.key(ISSUER + "a", "b")


def test_sso_only_without_a_provider_fails_at_start_up():
    with pytest.raises(config.ConfigError, match="SSO_ONLY"):
        config.build({"SSO_ONLY": True}, environ={})
    with pytest.raises(config.ConfigError, match="OIDC_CLIENT_ID"):
        config.build({"OIDC_ISSUER": ISSUER}, environ={})
    assert config.build({"OIDC_ISSUER": ISSUER, "OIDC_CLIENT_ID": CLIENT, "SSO_ONLY": True}, environ={})["SSO_ONLY"]


def test_a_token_signed_with_a_new_key_reads_the_keys_again_once(provider_app, monkeypatch):
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2", "alg": "RS256", "use": "sig"})
    reads = []

    def keys(refresh=False):
        reads.append(refresh)
        return KeySet([KEY, rotated] if refresh else [KEY])
    monkeypatch.setattr(oidc, "_keys", keys)
    now = int(time.time())
    token = jwt.encode({"alg": "RS256", "kid": "k2"}, {"iss": ISSUER, "sub": "s-2", "aud": CLIENT, "iat": now,
                                                     "exp": now + 300, "nonce": "n-1"}, rotated)
    assert oidc.verify_id_token(token, "n-1")["sub"] == "s-2" and reads == [False, True]
