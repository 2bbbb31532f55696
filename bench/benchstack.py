"""The stack the benchmark measures: devstack from a snapshot of the tree, free ports, token-aware probes."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path


def distinct_free_ports(devstack):
    """Ports.free() can hand out the same port twice (each socket is closed before the next bind): retry."""
    for _ in range(50):
        ports = devstack.Ports.free()
        flat = [v for k, v in dataclasses.asdict(ports).items() if k != "apps"]
        flat += [p for app in ports.apps.values() for p in dataclasses.astuple(app)]
        if len(flat) == len(set(flat)):
            return ports
    raise RuntimeError("could not get distinct free ports")


SNAPSHOT_IGNORE = shutil.ignore_patterns(".git", ".venv", ".run", "test-artifacts", "results", "__pycache__",
                                         ".pytest_cache", "node_modules", "*.pyc")


def snapshot(root: Path, dest: Path, rev: str | None = None) -> Path:
    """A copy of ``root``'s work tree, or of its commit ``rev`` (``git archive``), in ``dest``."""
    if not rev:
        shutil.copytree(root, dest, ignore=SNAPSHOT_IGNORE, symlinks=True)
        return dest
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=root, capture_output=True, check=True)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="tar")
    return dest


def short_commit(root: Path, rev: str = "HEAD") -> str:
    """``rev`` as an abbreviated commit id (raises when it names no commit)."""
    return subprocess.run(["git", "rev-parse", "--short", f"{rev}^{{commit}}"], cwd=root, capture_output=True,
                          text=True, check=True).stdout.strip()


def load_devstack(root: Path):
    """scripts/devstack.py of ``root``: its stack runs the code, components and config under ``root``.

    The devstack_* modules an earlier snapshot imported are forgotten, so a second stack in one run (the
    baseline's) uses its own tree's, not the first one's (whose directory may be gone).
    """
    for name in [m for m in sys.modules if m.startswith("devstack")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location("devstack", root / "scripts" / "devstack.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["devstack"] = module
    spec.loader.exec_module(module)
    return module


def bench_stack_class(devstack):
    """devstack.Stack whose start-up probes also present the Dapr API token.

    With ``api_token`` set, daprd answers 401 to calls without ``dapr-api-token``; devstack's
    "app reachable through the other sidecar" probe sends none, so ``start()`` times out.
    """

    class BenchStack(devstack.Stack):
        def _http_ok(self, url: str) -> bool:
            request = urllib.request.Request(url)
            if self.api_token and "/v1.0/invoke/" in url:
                request.add_header("dapr-api-token", self._token_of_sidecar_at(url))
            try:
                with urllib.request.urlopen(request, timeout=2) as resp:
                    return 200 <= resp.status < 300
            except OSError:
                return False

        def _token_of_sidecar_at(self, url: str) -> str:
            """The Dapr API token of the sidecar ``url`` names (each app's own, where devstack gives each one)."""
            tokens = getattr(self, "api_tokens", None)  # a baseline snapshot's devstack shares one token
            if not tokens:
                return self.api_token
            for instance, ports in self.ports.apps.items():
                if f":{ports.http}/" in url:
                    return tokens.get(devstack.app_id_of(instance), self.api_token)
            return self.api_token

    return BenchStack
