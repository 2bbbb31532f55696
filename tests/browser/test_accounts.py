"""Account pages in a real browser: two-factor set up with a code computed from the key on the page, the
sign-in's second step, deleting and exporting; each page photographed at 1280 and 390 px wide into
$TASKBOARD_SHOTS (default test-artifacts/screenshots/accounts)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from .actions import DESKTOP, MOBILE, PASSWORD, create_task, register, submit
from .conftest import SCREENSHOTS

SHOTS = Path(os.environ.get("TASKBOARD_SHOTS") or SCREENSHOTS / "accounts")


def shoot(page: Page, name: str) -> None:
    """The page as it is, at 1280 px, then at 390 px wide, full length; no page scrolls sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("1280", DESKTOP), ("390", MOBILE)):
        page.set_viewport_size(viewport)
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
            f"{name} scrolls sideways at {label} px"
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_two_factor_from_set_up_to_the_second_step(page: Page, new_context):
    username = register(page)
    page.goto("/settings")
    expect(page.get_by_role("link", name="Two-factor sign-in")).to_be_visible()
    shoot(page, "settings-account-section")
    page.get_by_role("link", name="Two-factor sign-in").click()
    shoot(page, "two-factor-off")
    submit(page, page.get_by_role("button", name="Set up two-factor sign-in"))
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    shoot(page, "two-factor-setup")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    submit(page, page.get_by_role("button", name="Confirm and turn on"))
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    shoot(page, "two-factor-recovery-codes")
    page.reload()
    expect(page.locator("#recovery-codes")).to_have_count(0)  # shown once
    shoot(page, "two-factor-on")

    other = new_context().new_page()
    other.goto("/login")
    other.get_by_label("Username").fill(username)
    other.get_by_label("Password").fill(PASSWORD)
    submit(other, other.get_by_role("button", name="Sign in"))
    assert other.url.endswith("/login/two-factor")
    shoot(other, "second-step")
    other.get_by_label("Code").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    resp = submit(other, other.get_by_role("button", name="Sign in"))
    assert resp.status == 422
    expect(other.locator(".errors")).to_contain_text("That code is not right")
    shoot(other, "second-step-wrong-code")
    other.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    submit(other, other.get_by_role("button", name="Sign in"))
    expect(other.locator(".nav .user")).to_have_text(username)


def test_export_and_delete_my_account(page: Page):
    username = register(page)
    create_task(page, "Something of mine")
    page.goto("/boards")
    page.get_by_label("Board name").fill("My team board")
    submit(page, page.get_by_role("button", name="Create board"))
    with page.expect_download() as download:
        page.goto("/settings")
        page.get_by_role("link", name="Download my data").click()
    assert download.value.suggested_filename.startswith(f"taskboard-{username}-")
    page.goto("/account/delete")
    expect(page.get_by_text("“My team board”")).to_be_visible()
    shoot(page, "delete-account")
    page.get_by_label("Your password").fill("wrong password")
    page.get_by_label("Type DELETE to confirm").fill("DELETE")
    assert submit(page, page.get_by_role("button", name="Delete my account")).status == 422
    shoot(page, "delete-account-wrong-password")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Type DELETE to confirm").fill("DELETE")
    submit(page, page.get_by_role("button", name="Delete my account"))
    assert page.url.endswith("/login")
    expect(page.locator(".flash-info")).to_contain_text("Your account was deleted")
    shoot(page, "deleted")
