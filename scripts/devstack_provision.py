"""What the stack's processes need before they start: the Dapr runtime and redis-server on this
machine, and a run directory with the local secret store's file."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

from devstack_processes import StackError

ROOT = Path(__file__).resolve().parent.parent


def provision(redis: bool = True) -> Path:
    """Find or build daprd/scheduler and (``redis``) find or install redis-server; the Dapr binaries' directory."""
    out = subprocess.run(["bash", str(ROOT / "scripts/provision-dapr.sh")], check=False,
                         stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise StackError("could not provision the Dapr runtime (see messages above)")
    dapr_bin = Path(out.stdout.strip().splitlines()[-1])
    if redis:
        subprocess.run(["bash", str(ROOT / "scripts/ensure-redis.sh")], check=True,
                       stdout=subprocess.DEVNULL)
    return dapr_bin


def daprd_version(dapr_bin: Path) -> str:
    """What `daprd --version` prints last (the version number)."""
    return subprocess.run([str(dapr_bin / "daprd"), "--version"], capture_output=True,
                          text=True, check=True).stdout.strip().splitlines()[-1]


def prepare_run_dir(run_dir: Path) -> None:
    """The run directory daprd works in: components read secrets.json and write deliveries/ there."""
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    (run_dir / "deliveries").mkdir(exist_ok=True)
    secrets_file(run_dir)


def secrets_file(run_dir: Path) -> Path:
    """The local secret store's file, generated once with a random Flask key."""
    path = run_dir / "secrets.json"
    if not path.exists():
        path.write_text(json.dumps({"flask-secret-key": secrets.token_urlsafe(48)}, indent=2))
        path.chmod(0o600)
    return path
