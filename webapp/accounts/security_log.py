"""Per-user security log (shown on Settings) and the same events as structured log lines for operators.

    security-log:<user id>   {"items": [{id, kind, at, address, details}]}   — newest first, at most ``LIMIT``
                             entries, each detail cut to ``DETAIL_MAX`` characters (≈ 25 kB at most)
    failed-sign-ins:<user id> {count, since, last_at, last_address}   — failed sign-ins at the account, counted
                             apart (anyone can cause them: as entries they could push the real events out);
                             TTL 30 days from the last one

``record`` never raises: the operator's log line is written first, and a store that cannot take the
entry is logged as a warning (a security event never fails the action it describes).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from .. import state_lists
from ..dapr_gateway import GatewayError
from ..keys import failed_sign_ins_key, security_log_key
from ..sidecar import gateway, retry_on_conflict

log = logging.getLogger("taskboard.security")
LIMIT = 50
DETAIL_MAX = 200
FAILURES_KEPT_SECONDS = 30 * 86400  # the count of failed sign-ins ends after 30 days without one
KINDS = {
    "sign-in": "Signed in",
    "sign-in-failed": "Failed sign-in",
    "password-changed": "Password changed",
    "password-reset": "Password reset by e-mail link",
    "password-reset-requested": "Password reset requested",
    "email-added": "E-mail address added (waiting for verification)",
    "email-verified": "E-mail address verified",
    "email-removed": "E-mail address removed",
    "signed-out-everywhere": "Signed out everywhere",
    "token-created": "API token created",
    "token-revoked": "API token revoked",
    "two-factor-enabled": "Two-factor sign-in turned on",
    "two-factor-disabled": "Two-factor sign-in turned off",
    "two-factor-removed-by-operator": "Two-factor sign-in removed by an operator",
    "second-factor-failed": "Wrong second-factor code",
    "sso-linked": "Single sign-on linked",
    "sso-account-created": "Account created by single sign-on",
    "data-exported": "Data exported",
    "account-deleted": "Account deleted",
}


log_key = security_log_key


def entry_for(kind: str, address: str | None, details: dict, now: datetime) -> dict:
    """One bounded log entry (details as short strings)."""
    return {"id": uuid.uuid4().hex, "kind": kind, "at": now.isoformat(),
            "address": (address or "")[:64] or None,
            "details": {str(k)[:40]: str(v)[:DETAIL_MAX] for k, v in list(details.items())[:5]}}


def record(user_id: str, kind: str, address: str | None = None, **details) -> None:
    """Log a security event of ``user_id`` for operators (JSON line) and in the user's own log. Never raises."""
    entry = entry_for(kind, address, details, datetime.now(timezone.utc))
    log.info("security event %s", kind, extra={"security_event": kind, "user_id": user_id,
                                                "client_address": entry["address"], **{
                                                    f"detail_{k}": v for k, v in entry["details"].items()}})
    try:
        state_lists.append(log_key(user_id), entry, LIMIT)
    except GatewayError as err:
        log.warning("security event %s of user %s not kept in their log: %s", kind, user_id, err)


failures_key = failed_sign_ins_key


def failed_sign_in(user_id: str, address: str | None) -> None:
    """Count a failed sign-in at an existing account (operators' log line too). Never raises."""
    operator_only("sign-in-failed", address, user_id=user_id)
    now = datetime.now(timezone.utc).isoformat()

    def attempt() -> None:
        item = gateway().get(failures_key(user_id))
        value = item.value or {}
        counted = {"count": int(value.get("count", 0)) + 1, "since": value.get("since") or now,
                   "last_at": now, "last_address": (address or "")[:64] or None}
        gateway().save_versioned(failures_key(user_id), counted, item.etag, ttl_seconds=FAILURES_KEPT_SECONDS)

    try:
        retry_on_conflict(attempt, "failed-sign-ins")
    except GatewayError as err:
        log.warning("failed sign-in of user %s not counted: %s", user_id, err)


def failures(value: dict | None) -> dict | None:
    """The failed sign-ins as read (``failed-sign-ins:<user>``'s value) with times as datetimes, or None."""
    if not value or not value.get("count"):
        return None
    return {**value, "since": datetime.fromisoformat(value["since"]), "last_at": datetime.fromisoformat(value["last_at"])}


def operator_only(kind: str, address: str | None = None, **details) -> None:
    """An event that belongs to no known account (a failed sign-in at an unknown name): the operators' log only."""
    log.info("security event %s", kind, extra={"security_event": kind, "client_address": address,
                                                **{f"detail_{k}": str(v)[:DETAIL_MAX] for k, v in details.items()}})


def entries(value: dict | None) -> list[dict]:
    """The log as read (``security-log:<user>``'s value), newest first, with times as datetimes and labels."""
    shown = []
    for item in (value or {}).get("items", []):
        shown.append({**item, "at": datetime.fromisoformat(item["at"]),
                      "label": KINDS.get(item["kind"], item["kind"])})
    return shown
