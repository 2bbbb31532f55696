"""Single sign-on against a real OpenID Connect provider on loopback (zitadel/oidc's example server).

The app reaches the provider only through its sidecar's HTTP binding; the test plays the browser, going
through the provider's own login form.
"""

from __future__ import annotations

import io
import json
import zipfile

import pyotp
import pytest

from tests.conftest import Browser, app_config, without_csrf
from tests.integration.two_factor_steps import enable_two_factor
from tests.sso import LABEL, TIMES, running_sso_stack, sign_in_at_provider
from webapp.accounts import sso_accounts
from webapp.sidecar import gateway


@pytest.fixture(scope="module")
def sso(request):
    with running_sso_stack(request) as the_stack:
        print(f"\n[oidc provider] provisioned in {TIMES['provision_seconds']:.2f}s, "
              f"started (discovery answering) in {TIMES['start_seconds']:.2f}s")
        yield the_stack


@pytest.fixture(scope="module")
def sso_app(sso):
    from webapp.app import create_app
    return create_app(app_config(sso.stack, **sso.app_settings()))


def _via_provider(browser: Browser, person: str, next_url: str | None = None):
    """Start at /login/oidc, sign in at the provider; the app's answer to the callback."""
    start = browser.get("/login/oidc" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302 and "code_challenge_method=S256" in start.headers["Location"]
    callback = sign_in_at_provider(start.headers["Location"], person)
    return browser.get(callback.replace("http://localhost", "", 1)), callback


def _username(browser: Browser) -> str | None:
    with browser.client.session_transaction() as session:
        return (session.get("profile") or {}).get("username")


def test_a_first_sign_in_makes_a_new_account_with_a_unique_name_and_the_next_signs_in_to_it(sso_app):
    Browser(sso_app.test_client()).register("person01")  # the provider's name is taken here
    browser = Browser(sso_app.test_client())
    answer, _ = _via_provider(browser, "person01")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login/oidc/link")
    page = browser.get("/login/oidc/link").get_data(as_text=True)
    assert "Finish signing in" in page and "person01" in page
    assert _username(browser) is None  # not signed in before choosing
    made = browser.form_post("/login/oidc/link", {"action": "new"})
    assert made.status_code == 302 and _username(browser) == "person01-2"
    again = Browser(sso_app.test_client())
    answer, _ = _via_provider(again, "person01")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/tasks")
    assert _username(again) == "person01-2"


def test_linking_an_existing_account_needs_its_password(sso_app):
    owner = Browser(sso_app.test_client())
    name = owner.register()
    browser = Browser(sso_app.test_client())
    _via_provider(browser, "person02")
    wrong = browser.form_post("/login/oidc/link", {"action": "link", "username": name, "password": "not it"})
    assert wrong.status_code == 422 and "Wrong username or password." in wrong.get_data(as_text=True)
    assert _username(browser) is None
    nobody = browser.form_post("/login/oidc/link", {"action": "link", "username": "nobody-" + name,
                                                    "password": "not it"})
    # Nothing tells whether an account exists: the answer for a missing one is the same page.
    assert nobody.status_code == 422
    assert without_csrf(nobody.get_data(as_text=True)).replace("nobody-" + name, name) == \
        without_csrf(wrong.get_data(as_text=True))
    linked = browser.form_post("/login/oidc/link", {"action": "link", "username": name,
                                                    "password": "correct horse battery"})
    assert linked.status_code == 302 and _username(browser) == name
    later = Browser(sso_app.test_client())
    answer, _ = _via_provider(later, "person02", next_url="/boards")
    assert answer.headers["Location"].endswith("/boards") and _username(later) == name


def test_a_forged_or_replayed_callback_is_refused_and_changes_nothing(sso_app):
    browser = Browser(sso_app.test_client())
    start = browser.get("/login/oidc")
    callback = sign_in_at_provider(start.headers["Location"], "person03")
    forged = browser.get(callback.replace("http://localhost", "", 1).replace("state=", "state=x"))
    assert forged.status_code == 400 and "Start again" in forged.get_data(as_text=True)
    replay = Browser(sso_app.test_client())  # another browser with the same callback: its session holds no state
    assert replay.get(callback.replace("http://localhost", "", 1)).status_code == 400
    assert _username(browser) is None and _username(replay) is None
    cancelled = Browser(sso_app.test_client())
    start = cancelled.get("/login/oidc")
    state = start.headers["Location"].split("state=")[1].split("&")[0]
    refused = cancelled.get(f"/login/oidc/callback?state={state}&error=access_denied")
    assert refused.status_code == 400 and "cancelled or refused" in refused.get_data(as_text=True)


def test_a_code_used_once_is_refused_the_second_time(sso_app):
    browser = Browser(sso_app.test_client())
    answer, callback = _via_provider(browser, "person04")
    assert answer.status_code == 302
    path = callback.replace("http://localhost", "", 1)
    again = Browser(sso_app.test_client())
    again.get("/login/oidc")  # a session with a state of its own: the old callback's state is not it
    assert again.get(path).status_code == 400


def test_a_linked_account_with_a_second_factor_still_asks_for_the_code(sso_app):
    owner = Browser(sso_app.test_client())
    name = owner.register()
    secret, _ = enable_two_factor(owner)
    browser = Browser(sso_app.test_client())
    _via_provider(browser, "person05")
    step = browser.form_post("/login/oidc/link", {"action": "link", "username": name,
                                                  "password": "correct horse battery"})
    assert step.status_code == 302 and step.headers["Location"].endswith("/login/two-factor")
    assert _username(browser) is None
    import time
    done = browser.form_post("/login/two-factor", {"code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert done.status_code == 302 and _username(browser) == name


def test_sso_only_refuses_password_sign_in_and_registration_with_a_clear_page(sso, sso_app):
    from webapp.app import create_app
    only = create_app(app_config(sso.stack, **sso.app_settings(SSO_ONLY=True)))
    name = Browser(sso_app.test_client()).register()
    browser = Browser(only.test_client())
    page = browser.get("/login")
    assert page.status_code == 200 and f"Sign in with {LABEL}" in page.get_data(as_text=True)
    answer, _ = _via_provider(browser, "person06")
    assert answer.headers["Location"].endswith("/login/oidc/link")  # the provider still signs in
    refused = browser.form_post("/login", {"username": name, "password": "correct horse battery"},
                                page_url="/login/oidc/link")  # a form's CSRF token of this session
    assert refused.status_code == 403 and "turned off" in refused.get_data(as_text=True)
    assert _username(browser) is None
    register = browser.get("/register")
    assert register.status_code == 403 and "first time you sign in" in register.get_data(as_text=True)


def test_the_provider_unreachable_is_a_503_page(sso):
    from webapp.app import create_app
    broken = create_app(app_config(sso.stack, **sso.app_settings(OIDC_BINDING="no-such-binding")))
    resp = Browser(broken.test_client()).get("/login/oidc")
    assert resp.status_code == 503 and "cannot be reached" in resp.get_data(as_text=True)


def test_without_a_provider_the_routes_are_not_there(app):
    assert app.test_client().get("/login/oidc").status_code == 404
    assert "Sign in with" not in app.test_client().get("/login").get_data(as_text=True)


def test_an_account_made_by_single_sign_on_is_deleted_without_a_password_just_after_signing_in(sso_app):
    browser = Browser(sso_app.test_client())
    _via_provider(browser, "person07")
    assert browser.form_post("/login/oidc/link", {"action": "new"}).status_code == 302
    page = browser.get("/account/delete").get_data(as_text=True)
    assert "a moment ago" in page and 'name="password"' not in page
    export = zipfile.ZipFile(io.BytesIO(browser.get("/account/export").data))
    assert json.loads(export.read("account.json"))["single_sign_on"][0]["issuer"] == sso_app.config["OIDC_ISSUER"]
    with browser.client.session_transaction() as session:
        user_id = session["profile"]["id"]
    with sso_app.app_context():
        link_key = sso_accounts.links_of(user_id)[0]["id"]
    gone = browser.form_post("/account/delete", {"confirm": "DELETE"})
    assert gone.status_code == 302 and _username(browser) is None
    with sso_app.app_context():  # the provider's subject is not kept
        assert not gateway().get(link_key).exists and sso_accounts.links_of(user_id) == []
    again = Browser(sso_app.test_client())
    answer, _ = _via_provider(again, "person07")  # the identity's account is gone: a first sign-in again
    assert answer.headers["Location"].endswith("/login/oidc/link")
