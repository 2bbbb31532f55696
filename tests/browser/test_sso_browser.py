"""Single sign-on in a real browser: through the provider's own login page and back; screenshots of the
sign-in pages with single sign-on, the first sign-in's choice, the SSO-only page and a refused callback."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import app_config
from tests.sso import LABEL, PASSWORD, running_sso_stack

from .actions import DESKTOP, submit
from .test_accounts import shoot


@pytest.fixture(scope="module")
def sso(request):
    with running_sso_stack(request) as the_stack:
        yield the_stack


@pytest.fixture
def sso_page(browser, sso):
    context = browser.new_context(base_url=sso.app_url(), viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_person_signs_in_through_the_providers_login_page(sso_page):
    page = sso_page
    page.goto("/login")
    shoot(page, "login-with-sso")
    page.get_by_role("link", name=f"Sign in with {LABEL}").click()
    page.wait_for_url("**/login/username?**")  # the provider's own page
    page.locator("#username").fill("person11")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.wait_for_url("**/login/oidc/link")
    expect(page.get_by_role("heading", name="Finish signing in")).to_be_visible()
    shoot(page, "sso-first-sign-in")
    submit(page, page.get_by_role("button", name="Create a new account"))
    expect(page.locator(".nav .user")).to_have_text("person11")
    expect(page.locator(".flash-success")).to_contain_text(f"signs in with {LABEL}")


def test_a_callback_not_started_here_gets_a_clear_page(sso_page):
    resp = sso_page.goto("/login/oidc/callback?state=made-up&code=made-up")
    assert resp.status == 400
    expect(sso_page.locator("main")).to_contain_text("Start again")
    shoot(sso_page, "sso-callback-refused")


def test_the_sso_only_sign_in_page(sso_page, sso):
    from webapp.app import create_app
    only = create_app(app_config(sso.stack, **sso.app_settings(SSO_ONLY=True)))
    html = only.test_client().get("/register").get_data(as_text=True)
    sso_page.goto("/healthz")  # the page's stylesheet comes from the running app
    sso_page.set_content(html)
    expect(sso_page.get_by_role("link", name=f"Sign in with {LABEL}")).to_be_visible()
    shoot(sso_page, "sso-only-register")
