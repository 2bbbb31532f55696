"""The consistency checker: a seeded, randomised, concurrent workload on shared boards, through the pages
and the API, with faults injected; then invariants on what is stored and delivered.

A failing run prints its seed, each violated invariant and the slice of the history that touches it;
``CONSISTENCY_SEED=<n>`` replays the same operations (runner.Settings lists every setting). `make soak`
runs seed after seed for ``SOAK_MINUTES``.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import ARTIFACTS, gateway_of, running_stack

from .runner import Settings, run_once

pytestmark = pytest.mark.consistency


@pytest.fixture(scope="module")
def settings():
    return Settings.from_env()


@pytest.fixture(scope="module")
def checked_stack(request):
    """A stack of its own: the faults (a killed sidecar, a frozen store) disturb no other suite."""
    with running_stack(request, logs_name="logs-consistency") as stack:
        yield stack


@pytest.fixture(scope="module")
def store_gateway(checked_stack):
    with gateway_of(checked_stack) as gateway:
        yield gateway


def test_no_lost_or_ghost_data_under_faults(checked_stack, store_gateway, settings):
    """One run at the configured size; in a soak (CONSISTENCY_SOAK_SECONDS), seed after seed until the time
    is up, every failing seed kept and reported at the end."""
    deadline = time.monotonic() + settings.soak_seconds
    seed, failed = settings.seed, []
    while True:
        result = run_once(checked_stack, store_gateway, settings, seed)
        report = result.report(settings)
        ARTIFACTS.mkdir(exist_ok=True)
        kept = ARTIFACTS / f"consistency-{seed}.log"
        kept.write_text(report + "\n\nthe whole history:\n" + result.history.render(result.history.ops, 10 ** 6) + "\n")
        print("\n" + "\n".join(report.splitlines()[:3]) + f"\n(history in {kept})", flush=True)
        if result.violations or result.injector_error is not None:
            failed.append(report)
        seed += 1
        if time.monotonic() >= deadline:
            break
    assert not failed, f"{len(failed)} of {seed - settings.seed} run(s) broke an invariant:\n\n" + "\n\n".join(failed)
