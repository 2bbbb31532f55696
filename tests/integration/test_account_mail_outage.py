"""The mail server down delays mail and fails nothing; the mail arrives once it is back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import Browser, eventually
from tests.integration.mailbox import Mailbox, verified_user_wanting_completion_mail


def test_mail_waits_while_the_mail_server_is_down_and_the_actions_succeed(app, stack):
    mailbox = Mailbox(stack.mail_api())
    user, email = verified_user_wanting_completion_mail(app, mailbox, "outage")

    stack.stop("mailpit")
    try:
        task_id = user.create_task(title="Done while mail is down")
        assert user.action(task_id, "complete").status_code == 302  # the action does not wait for mail
        reset = Browser(app.test_client()).form_post("/password-reset", {"identifier": email})
        assert reset.status_code == 200 and "Check your e-mail" in reset.get_data(as_text=True)
        # the inbox has it at once; the e-mail could not go
        eventually(lambda: "Done while mail is down" in user.get("/notifications").get_data(as_text=True))
        _an_old_mail_is_dead_lettered_and_a_young_one_retried(app, user, email)
    finally:
        stack.restart("mailpit")
    # Redelivered (the event's RETRY) and fired again (the job's failure policy, every 30 s): both arrive, once.
    mailbox.wait_for(email, "was completed", timeout=120)
    mailbox.wait_for(email, "Reset your Taskboard password", timeout=120)
    assert len([m for m in mailbox.to(email) if "was completed" in m["Subject"]]) == 1


def _an_old_mail_is_dead_lettered_and_a_young_one_retried(app, user, email):
    """A mail job firing that fails: retried (the job's failure policy) while young, dead-lettered past
    MAIL_GIVE_UP_SECONDS, where operators see it."""
    from webapp import state_lists
    from webapp.keys import DEAD_LETTERS
    from webapp.accounts import mail
    from webapp.dapr_gateway import GatewayError
    with app.test_request_context():
        young = {"kind": "mail", "mail_id": uuid.uuid4().hex, "template": "password-reset", "identifier": email,
                 "created_at": datetime.now(timezone.utc).isoformat()}
        with pytest.raises(GatewayError):
            mail.fire(young)
        old = {**young, "mail_id": uuid.uuid4().hex,
               "created_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()}
        assert mail.fire(old) == "dead-lettered"
        letters, _ = state_lists.read(DEAD_LETTERS)
    letter = next(item for item in letters if item["id"] == f"mail-{old['mail_id']}")
    assert letter["type"] == "mail.password-reset" and "link" not in str(letter["data"])  # no secret kept
