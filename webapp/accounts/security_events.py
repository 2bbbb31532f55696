"""The account pages' security events (second factor, single sign-on, deletion, export), each kept where the
security log keeps the rest (``security_log``): one JSON line for operators and an entry in the user's own log.

Sign-ins are recorded where every way in ends (``auth.routes.sign_in``): here they are an operator line only,
with how the user came in.
"""

from __future__ import annotations

import json
import logging

from . import security_log

log = logging.getLogger("taskboard.security")


def record(kind: str, user_id: str, address: str | None, **details: str) -> None:
    """Record one security event (``kind`` e.g. ``two_factor_enabled``) of ``user_id`` from ``address``; never
    raises."""
    if kind == "signed_in":
        try:
            log.info(json.dumps({"security_event": kind, "user_id": user_id, "address": address or "-", **details},
                                sort_keys=True))
        except (TypeError, ValueError):  # a detail that is not JSON: the event is still logged, without it
            log.info(json.dumps({"security_event": kind, "user_id": user_id, "address": address or "-"}))
        return
    security_log.record(user_id, kind.replace("_", "-"), address, **details)
