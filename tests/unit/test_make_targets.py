"""`make help` lists every target, and every test suite has a target of its own."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKEFILES = [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk")), ROOT / "deploy" / "local-cluster" / "k8s.mk"]
TARGET = re.compile(r"^([a-zA-Z0-9][a-zA-Z0-9_-]*):(?!=)", re.M)


def defined_targets() -> set[str]:
    return {name for path in MAKEFILES for name in TARGET.findall(path.read_text())}


def help_lines() -> dict[str, str]:
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return {m[1]: m[2] for m in re.finditer(r"^make (\S+)\s+(.*)$", out, re.M)}


def test_make_help_lists_every_target_with_what_it_does():
    listed = help_lines()
    assert defined_targets() - set(listed) == set()
    assert all(text.strip() for text in listed.values())


def test_every_test_suite_has_a_make_target():
    suites = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    targets = defined_targets()
    assert {s for s in suites if f"test-{s}" not in targets and f"{s}-test" not in targets} == set()
