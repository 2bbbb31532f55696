"""The pluggable mail component's own tests (deploy/pluggable-mail, Go): how a request becomes a message and
which requests it refuses (two recipients, a header broken by a line end, a link that is not http(s))."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def test_the_mail_component_builds_messages_and_refuses_bad_requests():
    go = shutil.which("go")
    if go is None:
        pytest.fail("Go is needed to build the mail component (scripts/provision-mail-component.sh)")
    # -trimpath as the provision script builds, so the compiled dependencies are reused from Go's build cache
    result = subprocess.run(["nice", "-n", "10", go, "test", "-trimpath", "-count=1", "./..."],
                            cwd=ROOT / "deploy" / "pluggable-mail", capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ok  \ttaskboard/deploy/pluggable-mail" in result.stdout
