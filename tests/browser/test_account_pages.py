"""Password reset by e-mail in a real browser, with the mail read from Mailpit; every account page at 1280 and
390 px (screenshots in test-artifacts/screenshots/account-*)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.integration.mailbox import Mailbox, address, links_in

from .actions import DESKTOP, MOBILE, PASSWORD, submit, unique_username

NEW_PASSWORD = "a new and longer secret"


def shoot(page: Page, screenshots, name: str) -> None:
    """The page at both widths (full page), then back to the desktop width."""
    for label, size in (("1280", DESKTOP), ("390", MOBILE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(screenshots / f"account-{name}-{label}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
            f"{name} scrolls sideways at {label} px"
    page.set_viewport_size(DESKTOP)


def test_a_forgotten_password_is_reset_through_the_mailed_link(page: Page, stack, screenshots):
    mailbox = Mailbox(stack.mail_api())
    username, email = unique_username("reset"), address("browser")
    page.goto("/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_label("E-mail address (optional)").fill(email)
    shoot(page, screenshots, "register")
    assert submit(page, page.get_by_role("button", name="Create account")).status == 200
    confirm, = mailbox.wait_for(email, "Confirm")
    page.goto(links_in(confirm)[0])
    expect(page.get_by_role("heading", name="Address confirmed")).to_be_visible()
    shoot(page, screenshots, "verified")

    page.goto("/settings")
    expect(page.locator("#account")).to_contain_text(f"{email} (verified)")
    expect(page.locator("#security-log")).to_contain_text("E-mail address verified")
    shoot(page, screenshots, "settings")
    for path, name in (("/account/email", "email"), ("/account/password", "password"),
                       ("/account/sign-out-everywhere", "sign-out-everywhere")):
        assert page.goto(path).status == 200
        shoot(page, screenshots, name)
    submit(page, page.get_by_role("button", name="Sign out", exact=True))

    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    shoot(page, screenshots, "reset-request")
    page.get_by_label("Username or e-mail address").fill(username)
    assert submit(page, page.get_by_role("button", name="Send the link")).status == 200
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    shoot(page, screenshots, "reset-sent")

    mail, = mailbox.wait_for(email, "Reset your Taskboard password")
    link = next(link for link in links_in(mail) if "/password-reset/" in link)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    shoot(page, screenshots, "reset-form")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    assert submit(page, page.get_by_role("button", name="Save the new password")).status == 200
    expect(page.locator(".flash-success")).to_contain_text("Your password was changed")

    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)  # the old one: refused, and counted on the account
    assert submit(page, page.get_by_role("button", name="Sign in")).status == 422
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    assert submit(page, page.get_by_role("button", name="Sign in")).status == 200
    expect(page.locator(".nav .user")).to_have_text(username)
    page.goto("/settings")
    expect(page.locator("#security-log")).to_contain_text("1 failed sign-in since")
    expect(page.locator("#security-log")).to_contain_text("Password reset by e-mail link")
    page.locator("#account").scroll_into_view_if_needed()
    shoot(page, screenshots, "settings-after-reset")

    assert page.goto(link).status == 400  # used: a clear page
    expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    shoot(page, screenshots, "link-used")


def test_the_unsubscribe_page_works_without_signing_in(page: Page, app, screenshots):
    from webapp.accounts import links
    app.test_client().get("/login")  # the in-process app reads the stack's secret key with its first session
    token = links.make(app.secret_key, links.UNSUBSCRIBE, {"u": "nobody-in-particular", "p": "digest"})
    assert page.goto(f"/unsubscribe/{token}").status == 200
    expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    shoot(page, screenshots, "unsubscribe")
