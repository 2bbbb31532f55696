"""E-mail to one user, delivered by notification-service through the ``notify-email`` binding (SMTP).

Account mail (verification, password reset) is a Dapr job ``mail-<id>`` due at once: the request that asks for
it only schedules the job, so a mail server that is down never fails or slows the request, and the password
reset request does the same work whether the account exists or not (the job looks it up). A firing the
notifier cannot deliver answers 503 and the job's failure policy fires it again (every 30 s); past
``MAIL_GIVE_UP_SECONDS`` the mail is dead-lettered (kept for operators on ``/admin/dead-letters``) instead.

Notification e-mail follows ``notification.sent``: after the inbox entry, the user's record decides (a verified
address and that kind chosen); a delivery that fails makes the event's handler answer RETRY, so pub/sub
redelivers it and, past its retries, dead-letters it. The notifier delivers each mail id once.

Every message is rendered from two templates, ``mail/<kind>.txt`` and ``mail/<kind>.html``, and sent as
multipart/alternative; a notification also carries its one-click unsubscribe link in ``List-Unsubscribe`` (with
``List-Unsubscribe-Post``, RFC 8058) and in its body (the link works without signing in, and its page takes the
one-click POST). The ``notify-email`` binding (notification_service/email.py) builds the message.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone

from flask import current_app, render_template

from .. import dead_letters, notifications
from ..auth import users
from ..dapr_gateway import GatewayError, NotFound
from ..keys import user_key
from ..sidecar import gateway
from . import links, profile

log = logging.getLogger(__name__)
SUBJECT_MAX = 120


def job_name(mail_id: str) -> str:
    return f"mail-{mail_id}"


def queue(template: str, **data) -> str:
    """Schedule the job that sends account mail ``template``; its mail id. ``Unavailable`` if the scheduler is out."""
    mail_id = uuid.uuid4().hex
    now = datetime.now(timezone.utc)
    gateway().schedule_job(job_name(mail_id), now, {
        "kind": "mail", "mail_id": mail_id, "template": template, "created_at": now.isoformat(), **data})
    return mail_id


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def _verification(data: dict) -> tuple[str, str, dict] | None:
    """(recipient, user id, template values) of a verification mail, or None when the address is no longer
    the pending one."""
    record = profile.record_of(data["user_id"])
    pending = record.get("email_pending") or {}
    if pending.get("nonce") != data.get("nonce"):
        return None
    token = links.make(current_app.secret_key, links.VERIFY_EMAIL,
                       {"u": record["id"], "a": pending["address"], "n": pending["nonce"]})
    return pending["address"], record["id"], {"username": record["username"],
                                              "link": public_url(f"/verify-email/{token}")}


def _account_for(identifier: str) -> dict | None:
    """The record of the account a reset request names (username, or a verified address), or None."""
    identifier = identifier.strip()
    user_id = profile.user_of_address(identifier) if "@" in identifier else None
    if user_id:
        item = gateway().get(user_key(user_id))
        return item.value if item.exists else None
    return users.find(identifier) if "@" not in identifier else None


def _reset(data: dict) -> tuple[str, str, dict] | None:
    """(recipient, user id, template values) of a reset mail, or None when no account with a verified address
    matches."""
    record = _account_for(str(data.get("identifier") or ""))
    if not record or not record.get("email"):
        return None
    token = links.make(current_app.secret_key, links.PASSWORD_RESET,
                       {"u": record["id"], "f": links.password_fingerprint(record["password_hash"])})
    return record["email"], record["id"], {"username": record["username"],
                                           "link": public_url(f"/password-reset/{token}"),
                                           "minutes": links.RESET_MAX_AGE_SECONDS // 60}


ACCOUNT_MAIL = {
    "verify-email": (_verification, "Confirm your e-mail address for Taskboard", "verify_email"),
    "password-reset": (_reset, "Reset your Taskboard password", "password_reset"),
}


def render(kind: str, **values) -> dict[str, str]:
    """The parts of message ``kind``: its text (``mail/<kind>.txt``) and its HTML (``mail/<kind>.html``)."""
    return {"text": render_template(f"mail/{kind}.txt", **values),
            "html": render_template(f"mail/{kind}.html", **values)}


def fire(data: dict) -> str:
    """A mail job fired: send it (or nothing when there is nothing to send); ``GatewayError`` to be fired again."""
    template = data.get("template")
    if template not in ACCOUNT_MAIL or not data.get("mail_id"):
        return "ignored"
    build, subject, kind = ACCOUNT_MAIL[template]
    try:
        built = build(data)
    except NotFound:
        built = None
    if built is None:
        return "nothing to send"
    to, user_id, values = built
    try:
        send(data["mail_id"], user_id, to, subject, render(kind, **values))
    except GatewayError as err:
        created = datetime.fromisoformat(data.get("created_at") or datetime.now(timezone.utc).isoformat())
        if datetime.now(timezone.utc) - created < timedelta(seconds=int(current_app.config["MAIL_GIVE_UP_SECONDS"])):
            raise
        log.error("mail %s (%s) dead-lettered after failing since %s: %s", data["mail_id"], template, created, err)
        dead_letters.record({"id": f"mail-{data['mail_id']}", "topic": "account-mail-deadletter",
                             "type": f"mail.{template}",
                             "data": {"mail_id": data["mail_id"], "template": template, "user_id": user_id,
                                      "created_at": data.get("created_at"), "error": str(err)[:200]}})
        return "dead-lettered"
    return "sent"


def send(mail_id: str, user_id: str, to: str, subject: str, parts: dict[str, str],
         unsubscribe: str | None = None) -> None:
    """Ask notification-service to deliver one e-mail (``parts``: text and html; once per ``mail_id``) to ``to``
    alone; ``GatewayError`` when it could not."""
    email = {"to": to, "subject": " ".join(subject.split())[:SUBJECT_MAX], "html": parts["html"],
             "text": parts["text"]}
    if unsubscribe:
        email["unsubscribe"] = unsubscribe
    notifications.notify({"notification_id": mail_id, "user_id": user_id, "task_id": None, "kind": "email",
                          "message": subject[:SUBJECT_MAX], "email": email})


def notification_sent(event: dict) -> str:
    """A notification reached the inbox: e-mail it too when its user verified an address and chose its kind."""
    preference = profile.preference_of(str(event.get("kind")))
    if preference is None:
        return "not an e-mail kind"
    item = gateway().get(user_key(event["user_id"]))
    record = item.value if item.exists else {}
    if not record.get("email") or not profile.preferences(record).get(preference):
        return "not wanted"
    token = links.make(current_app.secret_key, links.UNSUBSCRIBE, {"u": record["id"], "p": preference})
    unsubscribe = public_url(f"/unsubscribe/{token}")
    subject = f"Taskboard: {event['message']}"
    parts = render("notification", username=record["username"], message=event["message"],
                   task_link=public_url(f"/tasks/{event['task_id']}") if event.get("task_id") else None,
                   preference=profile.PREFERENCES[preference], unsubscribe=unsubscribe,
                   settings=public_url("/account/email"))
    send(f"{event['notification_id']}.email", record["id"], record["email"], subject, parts, unsubscribe)
    return "sent"
