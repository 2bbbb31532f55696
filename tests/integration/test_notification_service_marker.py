"""notification-service's done marker is written right after the delivery, and a write that fails is tried
again at once: a retry of the same notification id then only announces, never delivers a second time."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.test_delivery_once import (a_notification, deliveries, notifier_app,  # noqa: F401  (fixtures)
                                                  notifier_state, notify_in_process)
from webapp.dapr_gateway import Unavailable
from webapp.notification_service import delivery


def test_a_done_marker_write_that_fails_once_never_lets_a_retry_deliver_again(stack, notifier_app,  # noqa: F811
                                                                              notifier_state, monkeypatch):
    note = a_notification()
    real_create, failed = notifier_state.create, []

    def store_blip(key, value, ttl_seconds=None):
        if key.startswith("notification-done:") and not failed:
            failed.append(key)
            raise Unavailable(f"create {key}: DEADLINE_EXCEEDED")
        return real_create(key, value, ttl_seconds=ttl_seconds)
    monkeypatch.setattr(notifier_state, "create", store_blip)
    first = notify_in_process(notifier_app, stack, note)
    assert failed and len(deliveries(stack, note["user_id"], note["notification_id"])) == 1
    monkeypatch.setattr(delivery, "CLAIM_STALE_AFTER", timedelta(0))  # as if the claim's attempt had died
    retry = notify_in_process(notifier_app, stack, note)  # the caller's retry, or a redelivered event
    assert len(deliveries(stack, note["user_id"], note["notification_id"])) == 1
    assert (first[0], first[1].get("status"), retry[0], retry[1].get("status")) == (200, "sent", 200, "duplicate")
