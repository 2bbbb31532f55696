"""One account's links, choices and log never reach another account."""

from __future__ import annotations

from tests.conftest import Browser, unique_name
from tests.integration.boards import user_id_of
from tests.integration.mailbox import address
from webapp.accounts import links, profile

PASSWORD = "correct horse battery"


def registered(app, email: str | None = None) -> Browser:
    browser = Browser(app.test_client())
    data = {"username": unique_name(), "password": PASSWORD, "confirm": PASSWORD, "timezone": "UTC"}
    assert browser.form_post("/register", {**data, **({"email": email} if email else {})}).status_code == 302
    return browser


def test_a_confirmation_link_opened_in_another_account_confirms_only_its_own(app):
    ann_email = address("ann")
    ann, bob = registered(app, ann_email), registered(app)
    with app.app_context():
        record = profile.record_of(user_id_of(ann))
        token = links.make(app.secret_key, links.VERIFY_EMAIL, {"u": record["id"], "a": ann_email,
                                                                "n": record["email_pending"]["nonce"]})
    assert bob.get(f"/verify-email/{token}").status_code == 200
    with app.app_context():
        assert profile.record_of(user_id_of(ann))["email"] == ann_email
        assert "email" not in profile.record_of(user_id_of(bob))
    assert ann_email not in bob.get("/settings").get_data(as_text=True)
    assert ann_email not in bob.get("/account/email").get_data(as_text=True)


def test_an_address_verified_by_one_account_cannot_be_verified_by_another(app):
    shared = address("shared")
    ann, bob = registered(app, shared), registered(app, shared)
    with app.app_context():
        tokens = {}
        for who in (ann, bob):
            record = profile.record_of(user_id_of(who))
            tokens[who] = links.make(app.secret_key, links.VERIFY_EMAIL,
                                     {"u": record["id"], "a": shared, "n": record["email_pending"]["nonce"]})
    assert ann.get(f"/verify-email/{tokens[ann]}").status_code == 200
    taken = bob.get(f"/verify-email/{tokens[bob]}")
    assert taken.status_code == 409 and "another account" in taken.get_data(as_text=True)
    with app.app_context():
        assert "email" not in profile.record_of(user_id_of(bob))
        assert profile.user_of_address(shared) == user_id_of(ann)


def test_an_unsubscribe_link_changes_only_the_account_it_names_and_a_forged_one_nothing(app):
    ann, bob = registered(app), registered(app)
    everything = {"form": "prefs", **{f"prefs-{name}": "y" for name in profile.PREFERENCES}}
    for who in (ann, bob):
        assert who.form_post("/account/email", everything).status_code == 302
    token = links.make(app.secret_key, links.UNSUBSCRIBE, {"u": user_id_of(ann), "p": "digest"})
    assert bob.client.post(f"/unsubscribe/{token}").status_code == 200
    forged = links.make("not the key", links.UNSUBSCRIBE, {"u": user_id_of(bob), "p": None})
    assert bob.client.post(f"/unsubscribe/{forged}").status_code == 400
    with app.app_context():
        assert profile.preferences(profile.record_of(user_id_of(ann)))["digest"] is False
        assert all(profile.preferences(profile.record_of(user_id_of(bob))).values())


def test_the_security_log_shows_only_the_callers_events(app):
    ann, bob = registered(app), registered(app)
    ann.form_post("/settings", {"name": "ann's script"})
    assert "API token created" in ann.get("/settings").get_data(as_text=True)
    assert "API token created" not in bob.get("/settings").get_data(as_text=True)
