"""notification-service's e-mail channel against the real SMTP binding and Mailpit."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.integration.mailbox import Mailbox, address


def test_concurrent_mails_each_reach_only_their_own_recipient(stack, app):
    """bindings.smtp writes each request's emailTo and subject into the component's shared metadata and reads
    them back to compose the message: two sends at once can swap recipients. The notifier sends one at a time
    per sidecar; this checks the outcome under concurrency (the race's window is microseconds: with the lock
    removed, 12 concurrent sends still arrived right, so this guards the property rather than proving the race)."""
    mailbox = Mailbox(stack.mail_api())
    run = uuid.uuid4().hex[:8]
    recipients = [address(f"race{run}-{n}") for n in range(12)]

    def send(recipient: str) -> None:
        with app.app_context():
            gw = app.extensions["dapr"]
            gw.invoke(app.config["NOTIFY_APP_ID"], app.config["NOTIFY_METHOD"], {
                "notification_id": uuid.uuid4().hex, "user_id": "race", "task_id": None, "kind": "email",
                "message": "race", "email": {"to": recipient, "subject": f"For {recipient}",
                                             "html": f"<p>Only for {recipient}</p>"}})

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(send, recipients))
    for recipient in recipients:
        for message in mailbox.wait_for(recipient, "For "):
            assert [to["Address"] for to in message["To"]] == [recipient]
            assert message["Subject"] == f"For {recipient}"
            assert f"Only for {recipient}" in message["HTML"]
