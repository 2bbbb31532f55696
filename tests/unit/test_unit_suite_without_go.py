"""`make test-unit` on a fresh clone without Go: the unit suite passes and nothing builds Dapr."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_test_unit_does_not_depend_on_the_dapr_runtime():
    makefiles = "\n".join(p.read_text() for p in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))])
    prerequisites = re.search(r"^test-unit:([^#\n]*)", makefiles, re.MULTILINE).group(1).split()
    assert "dapr" not in prerequisites and "browser" not in prerequisites, prerequisites


def test_unit_suite_runs_without_go_and_never_builds(tmp_path):
    """The pytest command of `make test-unit` with no Go and no Dapr anywhere: a `go` that only
    records its calls stands in for the toolchain, so an attempt to build shows even though it fails."""
    tripwire_dir, calls = tmp_path / "bin", tmp_path / "go-calls"
    tripwire_dir.mkdir()
    go = tripwire_dir / "go"
    go.write_text(f'#!/bin/sh\necho "go $*" >> "{calls}"\nexit 1\n')
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    path = [tripwire_dir] + [Path(d) for d in os.environ["PATH"].split(os.pathsep)
                             if d and not (Path(d) / "go").exists() and not (Path(d) / "daprd").exists()]
    cache, home = tmp_path / "cache", tmp_path / "home"
    cache.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DAPR_BIN_DIR", "GOROOT", "GOPATH")}
    env.update(PATH=os.pathsep.join(map(str, path)), TASKBOARD_CACHE=str(cache), HOME=str(home))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit", "--ignore", str(Path(__file__).relative_to(ROOT)),
         "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert not calls.exists(), f"something tried to build Dapr: {calls.read_text()}"
    assert "daprd: not provisioned yet" in output, output[:2000]
    assert list(cache.iterdir()) == [], "the Dapr cache was written to"
