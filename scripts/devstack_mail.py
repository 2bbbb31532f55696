"""The stack's mail: the server, Mailpit (SMTP in, web UI and HTTP API out), found or built by
scripts/provision-mailpit.sh into ~/.cache/taskboard/mailpit-<version>/; and the pluggable component that
notification-service's sidecar sends through (bindings.taskboard-mail), built by
scripts/provision-mail-component.sh, one process beside each notification-service sidecar."""

from __future__ import annotations

import socket
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


# -- the pluggable mail component (deploy/pluggable-mail) ------------------------------------------------------

MAIL_COMPONENT = "taskboard-mail"  # its socket's name: components/notify-email.yaml has type bindings.<this>
MAIL_APP_ID = "notification-service"  # the only app whose sidecar loads notify-email


def provision_mail_component() -> Path:
    """The mail component's binary (built from deploy/pluggable-mail the first time, a minute or more)."""
    out = subprocess.run(["bash", str(ROOT / "scripts/provision-mail-component.sh")], check=False,
                         stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise StackError("could not build the pluggable mail component (see messages above)")
    return Path(out.stdout.strip().splitlines()[-1])


def sockets_dir(run_dir: Path, instance: str) -> Path:
    """The pluggable components' folder of one sidecar: its own, so stacks and instances never share one (and no
    sidecar reads Dapr's machine-wide default, /tmp/dapr-components-sockets)."""
    return run_dir / "sockets" / instance


def sockets_env(folder: Path) -> dict[str, str]:
    """What tells a daprd (and the component) where the pluggable components' sockets are."""
    return {"DAPR_COMPONENTS_SOCKETS_FOLDER": str(folder)}


def mail_component_socket(folder: Path) -> Path:
    return folder / f"{MAIL_COMPONENT}.sock"


def socket_answers(path: Path) -> bool:
    """Whether a process accepts connections on the Unix socket ``path``."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(0.5)
        return s.connect_ex(str(path)) == 0
