"""Signed links sent by e-mail: verify an address, reset a password, unsubscribe. Pure: no I/O.

Each purpose has its own salt, so a link made for one can never be used for another. Single use is not in
the signature: each link carries a value that the action it performs changes (the pending address's nonce,
a fingerprint of the password hash), so the second use finds it changed.
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

VERIFY_EMAIL = "verify-email"
PASSWORD_RESET = "password-reset"
UNSUBSCRIBE = "unsubscribe"
RESET_MAX_AGE_SECONDS = 30 * 60
VERIFY_MAX_AGE_SECONDS = 2 * 86400


class LinkInvalid(ValueError):
    """The link is malformed, forged, for another purpose, or used already."""


class LinkExpired(LinkInvalid):
    """The link was genuine but is past its time."""


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"taskboard-{purpose}")


def make(secret_key: str, purpose: str, payload: dict) -> str:
    """A signed, timestamped token carrying ``payload``."""
    return _serializer(secret_key, purpose).dumps(payload)


def read(secret_key: str, purpose: str, token: str, max_age: int | None) -> dict:
    """The payload of a token made for ``purpose``; ``LinkExpired`` past ``max_age`` seconds, ``LinkInvalid``
    when forged, malformed or made for another purpose."""
    if not isinstance(token, str) or len(token) > 1000:
        raise LinkInvalid("malformed")
    try:
        payload = _serializer(secret_key, purpose).loads(token, max_age=max_age)
    except SignatureExpired as err:
        raise LinkExpired("expired") from err
    except BadSignature as err:
        raise LinkInvalid("bad signature") from err
    if not isinstance(payload, dict):
        raise LinkInvalid("malformed payload")
    return payload


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the stored password hash: a reset link names it, so any password change voids the link."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(str(a).encode(), str(b).encode())
