"""OpenID Connect sign-in (authorization code flow with PKCE), built on Authlib's primitives.

The browser goes to the provider's authorization endpoint; every call of the app's own to the provider
(discovery, token, JWKS, userinfo) goes through the Dapr HTTP output binding ``OIDC_BINDING``, whose
component holds the provider's base URL, so the app imports no HTTP client. The client secret is read from
the Dapr secret store (``OIDC_CLIENT_SECRET_NAME``). The ID token's signature is checked against the
provider's JWKS (joserfc, Authlib's JOSE library), then its claims (``authlib.oidc.core.CodeIDToken``):
issuer, audience, expiry, nonce and the access token's hash. Discovery and keys are kept per process for
an hour (keys are read again at once when a token names an unknown key id).

Authlib and joserfc (with ``cryptography``: about 10 MB and 180 modules in every worker) are imported by
``libraries()``: ``create_app`` calls it before the fork when a provider is configured, so an app without single
sign-on never loads them.
"""

from __future__ import annotations

import base64
import importlib
import json
import threading
import time
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

from flask import current_app

from ..dapr_gateway import GatewayError, NotFound
from ..sidecar import gateway

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

CACHE_SECONDS = 3600
LEEWAY_SECONDS = 60
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]  # asymmetric only: never "none" or a secret shared as HS256
_cache: dict[str, tuple[float, object]] = {}
_cache_lock = threading.Lock()


class SignInFailed(RuntimeError):
    """The provider's answer could not be trusted or used; the message is safe to show (it names no account)."""


class ProviderUnavailable(SignInFailed):
    """The provider (or the binding to it) did not answer: try again later."""


@dataclass(frozen=True)
class Identity:
    """Who the provider vouched for: its issuer and subject, plus what may name a new account."""

    issuer: str
    subject: str
    preferred_username: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    verifier: str


# Authlib's and joserfc's names this module uses: (module, name) by the name it goes by here.
_LIBRARY_NAMES = {"generate_token": ("authlib.common.security", "generate_token"),
                  "create_s256_code_challenge": ("authlib.oauth2.rfc7636", "create_s256_code_challenge"),
                  "CodeIDToken": ("authlib.oidc.core", "CodeIDToken"), "jwt": ("joserfc", "jwt"),
                  "InvalidKeyIdError": ("joserfc.errors", "InvalidKeyIdError"),
                  "JoseError": ("joserfc.errors", "JoseError"), "KeySet": ("joserfc.jwk", "KeySet")}


@cache
def libraries() -> SimpleNamespace:
    """Authlib's and joserfc's names this module uses, imported on the first call (see the module's docstring)."""
    return SimpleNamespace(**{name: getattr(importlib.import_module(module), attribute)
                              for name, (module, attribute) in _LIBRARY_NAMES.items()})


def enabled() -> bool:
    """Whether single sign-on is configured."""
    return bool(current_app.config.get("OIDC_ISSUER"))


def _issuer() -> str:
    return current_app.config["OIDC_ISSUER"]


def _client_id() -> str:
    return current_app.config["OIDC_CLIENT_ID"]


def _cached(name: str, load, refresh: bool = False):
    name = f"{name} {_issuer()} {current_app.config['OIDC_BINDING']}"  # apps of one process may differ
    with _cache_lock:
        hit = _cache.get(name)
    if hit and not refresh and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = load()
    with _cache_lock:
        _cache[name] = (time.monotonic(), value)
    return value


def _call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> dict:
    """``method url`` through the binding (``url`` must be on the issuer's origin); the JSON answer."""
    issuer, target = urlsplit(_issuer()), urlsplit(url)
    if (target.scheme, target.netloc) != (issuer.scheme, issuer.netloc):
        raise SignInFailed("The sign-in provider named an endpoint on another site.")
    path = target.path + (f"?{target.query}" if target.query else "")
    try:
        answer = gateway().http_request(current_app.config["OIDC_BINDING"], method, path, body,
                                        {"Accept": "application/json", **(headers or {})})
    except GatewayError as err:
        raise ProviderUnavailable("The sign-in provider cannot be reached right now.") from err
    if answer.status >= 500 or answer.status == 0:
        raise ProviderUnavailable("The sign-in provider cannot be reached right now.")
    try:
        data = json.loads(answer.body or b"{}")
    except ValueError as err:
        raise SignInFailed("The sign-in provider sent an answer that is not JSON.") from err
    if answer.status >= 400 or not isinstance(data, dict):
        current_app.logger.warning("oidc: %s %s answered %s: %s", method, path, answer.status,
                                   data.get("error") if isinstance(data, dict) else "?")
        raise SignInFailed("The sign-in provider refused the sign-in. Start again.")
    return data


def discovery() -> dict:
    """The provider's metadata (``/.well-known/openid-configuration``), checked to be the configured issuer's."""
    def load() -> dict:
        meta = _call("GET", _issuer().rstrip("/") + "/.well-known/openid-configuration")
        if meta.get("issuer") != _issuer():
            raise SignInFailed("The sign-in provider is not the one configured.")
        return meta
    return _cached("discovery", load)


def _keys(refresh: bool = False) -> KeySet:
    return _cached("jwks", lambda: libraries().KeySet.import_key_set(_call("GET", discovery()["jwks_uri"])), refresh)


def _client_secret() -> str:
    try:
        return _cached("secret", lambda: gateway().secret(current_app.config["OIDC_CLIENT_SECRET_NAME"]))
    except NotFound as err:
        raise ProviderUnavailable("Single sign-on is not fully configured (no client secret).") from err
    except GatewayError as err:
        raise ProviderUnavailable("The secret store cannot be reached right now.") from err


def authorization_request(redirect_uri: str) -> AuthorizationRequest:
    """Where to send the browser, with a new state, nonce and PKCE verifier (S256) to keep in the session."""
    lib = libraries()
    state, nonce, verifier = lib.generate_token(32), lib.generate_token(32), lib.generate_token(64)
    query = urlencode({"response_type": "code", "client_id": _client_id(), "redirect_uri": redirect_uri,
                       "scope": current_app.config["OIDC_SCOPES"], "state": state, "nonce": nonce,
                       "code_challenge": lib.create_s256_code_challenge(verifier), "code_challenge_method": "S256"})
    endpoint = discovery()["authorization_endpoint"]
    return AuthorizationRequest(f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state, nonce, verifier)


def _basic_auth() -> str:
    """HTTP Basic client authentication (RFC 6749 2.3.1: id and secret form-encoded first)."""
    pair = f"{quote(_client_id(), safe='')}:{quote(_client_secret(), safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def finish(code: str, verifier: str, nonce: str, redirect_uri: str) -> Identity:
    """Exchange the code for tokens, check the ID token; the identity it vouches for. ``SignInFailed``."""
    form = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                      "code_verifier": verifier}).encode()
    tokens = _call("POST", discovery()["token_endpoint"], form,
                   {"Content-Type": "application/x-www-form-urlencoded", "Authorization": _basic_auth()})
    if not isinstance(tokens.get("id_token"), str):
        raise SignInFailed("The sign-in provider sent no ID token.")
    claims = verify_id_token(tokens["id_token"], nonce, tokens.get("access_token"))
    profile = _userinfo(tokens.get("access_token"), claims["sub"])
    return Identity(claims["iss"], claims["sub"], profile.get("preferred_username") or claims.get("preferred_username"),
                    profile.get("email") or claims.get("email"), profile.get("name") or claims.get("name"))


def verify_id_token(id_token: str, nonce: str, access_token: str | None = None) -> dict:
    """The ID token's claims once its signature (provider's JWKS) and claims are valid; ``SignInFailed``."""
    lib = libraries()
    try:
        try:
            token = lib.jwt.decode(id_token, _keys(), algorithms=ALGORITHMS)
        except lib.InvalidKeyIdError:  # signed with a key newer than the ones read: read them again, once
            token = lib.jwt.decode(id_token, _keys(refresh=True), algorithms=ALGORITHMS)
        claims = lib.CodeIDToken(token.claims, token.header,
                             options={"iss": {"essential": True, "value": _issuer()},
                                      "aud": {"essential": True, "value": _client_id()},
                                      "sub": {"essential": True}, "nonce": {"essential": True}},
                             params={"nonce": nonce, "client_id": _client_id(), "access_token": access_token})
        claims.validate(leeway=LEEWAY_SECONDS)
    except (lib.JoseError, ValueError, KeyError) as err:
        current_app.logger.warning("oidc: ID token refused: %s", err)
        raise SignInFailed("The sign-in could not be verified. Start again.") from err
    return dict(claims)


def _userinfo(access_token: str | None, subject: str) -> dict:
    """The profile claims from the userinfo endpoint (only to name a new account); {} when there are none."""
    endpoint = discovery().get("userinfo_endpoint")
    if not (endpoint and access_token):
        return {}
    try:
        profile = _call("GET", endpoint, headers={"Authorization": f"Bearer {access_token}"})
    except SignInFailed:
        return {}
    return profile if profile.get("sub") == subject else {}
