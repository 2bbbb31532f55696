"""Work a process could not hand to its sidecar (it was gone, or the broker was), held in memory and done by one
thread of the process once the sidecar answers again.

Both apps use it for what nothing else would ever retry: the web app for a change's events and its board's relay
mark when the sidecar died right after the commit (``tasks/outbox.py``), notification-service for a delivered
notification's announcement and a failed attempt's claim release (``notification_service/delivery.py``). What a
process holds is lost if it dies too; each user says what covers that.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any, Callable

from .dapr_gateway import GatewayError

log = logging.getLogger(__name__)
RETRY_DELAYS_SECONDS = (1, 2, 4, 8, 15)  # between attempts; then every 15 s until done


class Held:
    """Items (by id) to hand over with ``attempt(items)``; ``hold`` starts the one retrying thread if none runs.

    ``attempt`` runs in the app's context with every item held at the time and raises ``GatewayError`` while
    the sidecar still refuses; the items it was given are then dropped. At most ``limit`` items are held.
    """

    def __init__(self, name: str, attempt: Callable[[list[Any]], None], limit: int = 10_000) -> None:
        self.name, self.attempt, self.limit = name, attempt, limit
        self.lock = threading.Lock()
        self.items: dict[str, Any] = {}
        self.app = None  # the app of the latest holder: the thread works in its context
        self.retrying = False

    def hold(self, app, items: dict[str, Any]) -> None:
        """Hold ``items`` (id → item) until ``attempt`` took them."""
        with self.lock:
            for key in list(items)[:max(0, self.limit - len(self.items))]:
                self.items[key] = items[key]
            start, self.retrying, self.app = not self.retrying, True, app
        if start:
            threading.Thread(target=self._retry, name=self.name, daemon=True).start()

    def _retry(self) -> None:
        for number in itertools.count():
            time.sleep(RETRY_DELAYS_SECONDS[min(number, len(RETRY_DELAYS_SECONDS) - 1)])
            with self.lock:
                taken, app = dict(self.items), self.app
            try:
                with app.app_context():
                    self.attempt(list(taken.values()))
            except GatewayError as err:
                log.warning("%s: %d held items still not handed over: %s", self.name, len(taken), err)
                continue
            log.info("%s: handed over %d held items %s", self.name, len(taken), sorted(taken))
            with self.lock:
                for key in taken:
                    self.items.pop(key, None)
                if not self.items:
                    self.retrying = False
                    return
