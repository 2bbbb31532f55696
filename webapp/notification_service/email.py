"""The e-mail channel: one message to one recipient through the SMTP output binding (``notify-email``).

The binding (components-contrib v1.18.4 ``bindings/smtp``) takes the body as ``text/html`` and the request
metadata ``emailTo``, ``subject`` and ``priority``; it cannot send a text part or custom headers. It also merges
each request's metadata into the component's own (a pointer, not a copy), so two calls at once can swap their
recipients: calls are made one at a time per sidecar, under a lock that every worker process of this app
beside that sidecar shares (a file lock: the workers are processes).
"""

from __future__ import annotations

import fcntl
import threading
from contextlib import contextmanager

from flask import current_app

from ..sidecar import gateway

HTML_MAX_BYTES = 100_000
_THREADS = threading.Lock()


def check(email: object) -> str | None:
    """What is wrong with a request's ``email`` object, or None: {to, subject, html}, one address, bounded."""
    if not isinstance(email, dict):
        return "email must be an object"
    for name in ("to", "subject", "html"):
        if not isinstance(email.get(name), str) or not email[name].strip():
            return f"email.{name} is missing"
    if any(ch in email["to"] for ch in ";,\r\n<>") or "@" not in email["to"] or len(email["to"]) > 254:
        return "email.to must be one address"
    if len(email["html"].encode()) > HTML_MAX_BYTES:
        return "email.html is too large"
    return None


@contextmanager
def one_at_a_time():
    """Hold the sidecar's e-mail lock (threads of this process, then the processes beside the same sidecar)."""
    with _THREADS, open(current_app.config["MAIL_LOCK_FILE"], "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def send(email: dict) -> None:
    """Deliver one message; ``GatewayError`` when the binding (or the mail server behind it) refused it."""
    subject = " ".join(email["subject"].split())[:200]  # no line breaks: a header
    with one_at_a_time():
        gateway().invoke_binding(current_app.config["NOTIFY_EMAIL_BINDING"], "create", email["html"],
                                 metadata={"emailTo": email["to"].strip(), "subject": subject})
