"""The e-mail channel: one message to one recipient through the output binding ``notify-email``.

The binding is the pluggable component ``bindings.taskboard-mail`` (deploy/pluggable-mail): the request body is
the HTML part, and the request metadata ``emailTo`` and ``subject``, ``textBody`` (the text part: the message is
then multipart/alternative) and ``listUnsubscribe`` (a one-click link: the ``List-Unsubscribe`` and
``List-Unsubscribe-Post`` headers of RFC 8058). Operators may instead use Dapr's built-in ``bindings.smtp``
(components-alt/notify-email-smtp.yaml): it takes the same request but sends the HTML part alone, without those
headers, and merges each request's metadata into the component's own (a pointer, not a copy), so two calls at
once can swap their recipients. Hence calls are made one at a time per sidecar, under a lock that every worker
process of this app beside that sidecar shares (a file lock: the workers are processes).
"""

from __future__ import annotations

import fcntl
import threading
from contextlib import contextmanager

from flask import current_app

from ..sidecar import gateway

HTML_MAX_BYTES = 100_000
TEXT_MAX_BYTES = 50_000
URL_MAX = 2000
FIELDS = ("to", "subject", "html", "text", "unsubscribe")  # text and unsubscribe are optional
_THREADS = threading.Lock()


def check(email: object) -> str | None:
    """What is wrong with a request's ``email`` object, or None: {to, subject, html, text?, unsubscribe?}, one
    address, bounded, the unsubscribe link one http(s) URL."""
    if not isinstance(email, dict):
        return "email must be an object"
    for name in ("to", "subject", "html"):
        if not isinstance(email.get(name), str) or not email[name].strip():
            return f"email.{name} is missing"
    if any(ch in email["to"] for ch in ";,\r\n<>") or "@" not in email["to"] or len(email["to"]) > 254:
        return "email.to must be one address"
    if len(email["html"].encode()) > HTML_MAX_BYTES:
        return "email.html is too large"
    text, unsubscribe = email.get("text"), email.get("unsubscribe")
    if text is not None and (not isinstance(text, str) or len(text.encode()) > TEXT_MAX_BYTES):
        return "email.text must be text of at most 50 kB"
    if unsubscribe is not None and (not isinstance(unsubscribe, str) or len(unsubscribe) > URL_MAX
                                    or not unsubscribe.startswith(("https://", "http://"))
                                    or any(ch.isspace() for ch in unsubscribe)):
        return "email.unsubscribe must be one http(s) URL"
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
    metadata = {"emailTo": email["to"].strip(), "subject": subject}
    if email.get("text"):
        metadata["textBody"] = email["text"]
    if email.get("unsubscribe"):
        metadata["listUnsubscribe"] = email["unsubscribe"]
    with one_at_a_time():
        gateway().invoke_binding(current_app.config["NOTIFY_EMAIL_BINDING"], "create", email["html"],
                                 metadata=metadata)
