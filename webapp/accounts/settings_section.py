"""What the Settings page shows of this package (``templates/accounts/_settings_section.html``): the e-mail
address, the links to the account pages and the security log, read in one bulk get."""

from __future__ import annotations

from flask import Flask

from ..keys import user_key
from ..dapr_gateway import GatewayError
from ..sidecar import gateway
from . import profile, security_log


def section(user_id: str) -> dict:
    """The account part of Settings: ``email``, ``pending``, ``log`` (None each when the store does not answer)."""
    try:
        record, log_item, failed = gateway().get_many([user_key(user_id), security_log.log_key(user_id),
                                                       security_log.failures_key(user_id)])
    except GatewayError:
        return {"email": None, "pending": None, "log": None, "failures": None, "unavailable": True}
    value = record.value or {}
    return {"email": value.get("email"), "pending": (value.get("email_pending") or {}).get("address"),
            "log": security_log.entries(log_item.value), "failures": security_log.failures(failed.value),
            "unavailable": False,
            "mailed": [label for name, label in profile.PREFERENCES.items() if profile.preferences(value)[name]]}


def register(app: Flask) -> None:
    app.add_template_global(section, "account_section")
