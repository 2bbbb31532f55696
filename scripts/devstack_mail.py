"""The stack's mail server: Mailpit (SMTP in, web UI and HTTP API out), found or built by
scripts/provision-mailpit.sh into ~/.cache/taskboard/mailpit-<version>/."""

from __future__ import annotations

import subprocess
from pathlib import Path

from devstack_processes import StackError
from devstack_provision import ROOT


def provision_mailpit() -> Path:
    """The pinned Mailpit binary (built from the Go module proxy the first time, about a minute)."""
    out = subprocess.run(["bash", str(ROOT / "scripts/provision-mailpit.sh")], check=False,
                         stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise StackError("could not provision Mailpit (see messages above)")
    return Path(out.stdout.strip().splitlines()[-1])


def mailpit_argv(binary: Path, smtp_port: int, http_port: int, data_dir: Path) -> list[str]:
    """Mailpit on loopback: any sender, no TLS, messages kept in a database in the run directory."""
    return [str(binary), "--smtp", f"127.0.0.1:{smtp_port}", "--listen", f"127.0.0.1:{http_port}",
            "--database", str(data_dir / "mailpit.db"), "--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
            "--disable-version-check", "--max", "5000", "--quiet"]


def smtp_env(smtp_port: int) -> dict[str, str]:
    """What notification-service's sidecar reads for its notify-email binding (components/notify-email.yaml)."""
    return {"TASKBOARD_SMTP_HOST": "127.0.0.1", "TASKBOARD_SMTP_PORT": str(smtp_port)}
