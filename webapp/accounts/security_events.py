"""Security-relevant account events as structured log lines for operators.

Each event is one JSON log line on the ``taskboard.security`` logger:
``{"security_event": kind, "user_id": ..., "address": ..., **details}``.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger("taskboard.security")


def record(kind: str, user_id: str, address: str | None, **details: str) -> None:
    """Log one security event (``kind`` e.g. ``two_factor_enabled``) of ``user_id`` from ``address``; never raises."""
    try:
        log.info(json.dumps({"security_event": kind, "user_id": user_id, "address": address or "-", **details},
                            sort_keys=True))
    except (TypeError, ValueError):  # a detail that is not JSON: the event is still logged, without it
        log.info(json.dumps({"security_event": kind, "user_id": user_id, "address": address or "-"}))
