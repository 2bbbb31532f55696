"""The pluggable mail component gone: notification e-mail waits (the event is redelivered) and nothing fails;
restarted with its sidecar (daprd Inits a pluggable component once, when it starts), the mail arrives once."""

from __future__ import annotations

from tests.conftest import Browser, eventually, unique_name
from tests.integration.mailbox import Mailbox, address, links_in, path_of

PASSWORD = "correct horse battery"
COMPONENT = "mail-component-notification-service"


def test_mail_waits_while_the_mail_component_is_down_and_arrives_once_it_is_back(app, stack):
    mailbox = Mailbox(stack.mail_api())
    user, email = Browser(app.test_client()), address("component-down")
    user.form_post("/register", {"username": unique_name(), "password": PASSWORD, "confirm": PASSWORD,
                                 "timezone": "UTC", "email": email})
    confirm, = mailbox.wait_for(email, "Confirm")
    assert user.get(path_of(links_in(confirm)[0])).status_code == 200
    assert user.form_post("/account/email", {"form": "prefs", "prefs-completed": "y"}).status_code == 302

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
