"""A user's second factor (TOTP) in Dapr state: set up, confirm, check, disable, remove.

    two-factor-setup:<user id>  a setup not confirmed yet (TTL SETUP_SECONDS)
    two-factor:<user id>        the factor, or a record that it was turned off — kept: a later guarded write
                                cannot bring a removed factor back (shapes: webapp/keys.py)

Each change is one ETag-guarded write of ``two-factor:<user id>`` (a used code's step, a used recovery code,
disabling), so two uses of one code race on the ETag and exactly one wins. A disabled factor is overwritten
by a record that says so rather than deleted: on Redis a write guarded by an ETag read before the delete would
create the key again. API tokens are not affected by a second factor: a token is a credential of its own,
created by a signed-in user (after the second step), and revoked on Settings.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..auth import users
from ..dapr_gateway import Conflict, NotFound
from ..keys import two_factor_key, two_factor_setup_key
from ..sidecar import gateway
from . import totp_codes

SETUP_SECONDS = 15 * 60


class WrongCode(ValueError):
    """The code is not the current one (nor a recovery code left), or it was used already."""


class SetupExpired(ValueError):
    """No setup is under way (never started, or older than SETUP_SECONDS)."""


key = two_factor_key
setup_key = two_factor_setup_key


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def record(user_id: str) -> dict | None:
    """The user's enabled second factor, or None (``Unavailable`` when the store does not answer)."""
    item = gateway().get(key(user_id))
    return item.value if item.exists and item.value.get("enabled") else None


def is_enabled(user_id: str) -> bool:
    """Whether signing in as ``user_id`` needs a code after the password."""
    return record(user_id) is not None


def begin_setup(user_id: str) -> str:
    """A new secret waiting for its confirmation (replacing one under way); returns it."""
    secret = totp_codes.new_secret()
    gateway().save(setup_key(user_id), {"secret": secret, "started_at": _now()}, ttl_seconds=SETUP_SECONDS)
    return secret


def pending_secret(user_id: str) -> str | None:
    """The secret of the setup under way, or None."""
    item = gateway().get(setup_key(user_id))
    return item.value["secret"] if item.exists else None


def confirm_setup(user_id: str, code: str) -> list[str]:
    """Turn the second factor on once ``code`` matches the setup's secret; returns the ten recovery codes.

    Raises ``SetupExpired`` (no setup under way), ``WrongCode`` (the code does not match), ``Conflict``
    (the factor changed meanwhile: another tab confirmed first).
    """
    gw = gateway()
    setup, current = gw.get_many([setup_key(user_id), key(user_id)])
    if not setup.exists:
        raise SetupExpired(user_id)
    secret = setup.value["secret"]
    step = totp_codes.matching_step(secret, totp_codes.normalised(code))
    if step is None:
        raise WrongCode(user_id)
    if current.exists and current.value.get("enabled"):
        raise Conflict(f"two-factor of {user_id} is on already")
    codes = totp_codes.new_recovery_codes()
    gw.save_versioned(current.key, {"enabled": True, "secret": secret, "confirmed_at": _now(), "last_step": step,
                                    "recovery": [totp_codes.recovery_digest(c) for c in codes]}, current.etag)
    gw.delete(setup.key)
    return codes


def check(user_id: str, code: str) -> str:
    """Use ``code`` (the current TOTP code, or one recovery code) once; returns ``"totp"`` or ``"recovery"``.

    Raises ``WrongCode`` when it does not match, was used already, or another use of it won the race;
    ``NotFound`` when the user has no second factor.
    """
    gw = gateway()
    item = gw.get(key(user_id))
    if not (item.exists and item.value.get("enabled")):
        raise NotFound(f"two-factor of {user_id}")
    factor = item.value
    typed = totp_codes.normalised(code)
    step = totp_codes.matching_step(factor["secret"], typed, last_step=int(factor.get("last_step", -1)))
    if step is not None:
        changed, kind = {**factor, "last_step": step}, "totp"
    else:
        digest = totp_codes.recovery_digest(typed)
        if totp_codes.is_totp_shape(typed) or digest not in factor.get("recovery", []):
            raise WrongCode(user_id)
        changed, kind = {**factor, "recovery": [d for d in factor["recovery"] if d != digest]}, "recovery"
    try:
        gw.save(item.key, changed, etag=item.etag)
    except Conflict:  # the same code (or another) was used at the same moment: this use is refused
        raise WrongCode(user_id) from None
    return kind


def recovery_codes_left(user_id: str) -> int:
    factor = record(user_id)
    return len(factor.get("recovery", [])) if factor else 0


def disable(user_id: str) -> bool:
    """Turn the second factor off (one write, over whatever is stored); False if it was not on."""
    gw = gateway()
    item = gw.get(key(user_id))
    if not (item.exists and item.value.get("enabled")):
        return False
    gw.save(item.key, {"enabled": False, "disabled_at": _now()}, etag=item.etag)
    return True


def remove(username: str) -> bool:
    """An operator turns off ``username``'s second factor; False if it had none. ``NotFound`` for no such account."""
    found = users.find(username)
    if found is None:
        raise NotFound(username)
    return disable(found["id"])
