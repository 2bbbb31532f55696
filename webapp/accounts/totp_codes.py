"""Time-based one-time passwords (RFC 6238, through pyotp) and recovery codes, as pure functions.

A code is accepted for the time step it was made in and one step either side (clock drift), and only for a
step after the last one accepted (``last_step``), so a code cannot be used twice. Recovery codes are ten
random 10-character codes (50 bits each) stored as SHA-256 digests: with that much entropy a plain digest
gives a thief of the store nothing to guess.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import secrets
import time
from functools import cache

import pyotp

ISSUER = "Taskboard"
DRIFT_STEPS = 1  # steps accepted either side of now (30 s each)
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read back from paper without doubt
_CODE = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    """A new base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


@cache
def _segno():
    """The ``segno`` package, imported by the first QR code a process draws (setting up a second factor): about
    0.8 MB that every gunicorn worker would otherwise hold for a page few requests open."""
    return importlib.import_module("segno")


def qr_svg(uri: str) -> str:
    """``uri`` as an inline SVG QR code (no XML declaration, sized by CSS)."""
    return _segno().make(uri, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff",
                                                 title="QR code for your authenticator app")


def normalised(code: str | None) -> str:
    """What the user typed, without spaces and dashes, lower case."""
    return re.sub(r"[\s-]", "", code or "").lower()


def is_totp_shape(code: str) -> bool:
    return bool(_CODE.match(code))


def matching_step(secret: str, code: str, now: float | None = None, last_step: int = -1) -> int | None:
    """The time step whose code ``code`` is (within the drift, after ``last_step``), or None."""
    if not is_totp_shape(code):
        return None
    totp = pyotp.TOTP(secret)
    step = int((time.time() if now is None else now) // totp.interval)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if candidate > last_step and secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def new_recovery_codes() -> list[str]:
    """Ten new recovery codes, as shown to the user (``xxxxx-xxxxx``)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_digest(code: str) -> str:
    """The stored form of a recovery code (typed with or without the dash, any case)."""
    return hashlib.sha256(normalised(code).encode()).hexdigest()
