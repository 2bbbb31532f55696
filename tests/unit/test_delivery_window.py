"""How long the sidecars keep retrying an inbound event before dead-lettering it, against how long
notification-service answers "in progress" for a notification whose attempt died before releasing its claim.

A completion's e-mail was dead-lettered in CI: the notifier's sidecar went down between the claim and the
binding call, the claim could not be released, and every retry for 60 s was told "in progress" — while the
event's retries (exponential, at most 10 s, 10 of them: 22–67 s with Dapr's randomization) ran out after 39 s.
The window is computed the way Dapr's exponential policy draws it (cenkalti/backoff: 0.5 s, x 1.5 each time,
capped at ``maxInterval``, each interval drawn within +-50 %), at its shortest.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from webapp.notification_service.delivery import CLAIM_STALE_AFTER

ROOT = Path(__file__).resolve().parents[2]
INITIAL_SECONDS, MULTIPLIER, RANDOMIZATION = 0.5, 1.5, 0.5


def seconds(duration: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration).groups()
    return float(number) * {"ms": 0.001, "s": 1, "m": 60}[unit]


def shortest_window(policy: dict) -> float:
    """The least time from the first failure to the last retry that ``policy`` can give."""
    assert policy["policy"] == "exponential" and policy["maxRetries"] > 0
    cap, interval, total = seconds(policy["maxInterval"]), INITIAL_SECONDS, 0.0
    for _ in range(policy["maxRetries"]):
        total += interval * (1 - RANDOMIZATION)
        interval = min(interval * MULTIPLIER, cap)
    return total


def test_the_window_is_computed_as_dapr_draws_it():
    assert shortest_window({"policy": "exponential", "maxInterval": "10s", "maxRetries": 10}) == pytest.approx(22.3,
                                                                                                               abs=0.1)


@pytest.mark.parametrize("path", ["components/resiliency.yaml", "deploy/dapr/resiliency.yaml"])
def test_an_event_is_retried_past_a_dead_attempts_claim_before_it_is_dead_lettered(path):
    spec = yaml.safe_load((ROOT / path).read_text())["spec"]
    inbound = spec["targets"]["components"]["pubsub"]["inbound"]["retry"]
    window = shortest_window(spec["policies"]["retries"][inbound])
    # one and a half times the claim's life: the claim may be taken just before the event's first failure
    assert window >= 1.5 * CLAIM_STALE_AFTER.total_seconds(), (
        f"{path}: {inbound} can give up after {window:.0f} s, inside a dead attempt's claim "
        f"({CLAIM_STALE_AFTER.total_seconds():.0f} s)")
