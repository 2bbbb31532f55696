"""The pluggable mail component gone: notification e-mail waits (the event is redelivered) and nothing fails;
restarted with its sidecar (daprd Inits a pluggable component once, when it starts), the mail arrives once."""

from __future__ import annotations

from tests.conftest import eventually
from tests.integration.mailbox import Mailbox, verified_user_wanting_completion_mail

COMPONENT = "mail-component-notification-service"


def test_mail_waits_while_the_mail_component_is_down_and_arrives_once_it_is_back(app, stack):
    mailbox = Mailbox(stack.mail_api())
    user, email = verified_user_wanting_completion_mail(app, mailbox, "component-down")

    stack.stop(COMPONENT)
    try:
        task_id = user.create_task(title="Done while the component is down")
        assert user.action(task_id, "complete").status_code == 302  # the action does not wait for mail
        eventually(lambda: "Done while the component is down" in user.get("/notifications").get_data(as_text=True))
    finally:
        stack.restart(COMPONENT)  # and its sidecar
    message, = mailbox.wait_for(email, "was completed", timeout=180)
    assert message["Text"] and message["HTML"]
    assert len([m for m in mailbox.to(email) if "was completed" in m["Subject"]]) == 1
