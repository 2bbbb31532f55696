"""Real-browser fixtures: Playwright driving Debian's Chromium against the gunicorn-served stack.

`playwright install` cannot download browsers here, so the system Chromium is launched directly.
Screenshots are written to test-artifacts/screenshots/ on every run (they are artifacts, not goldens).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from .actions import DESKTOP

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-quic", "--disable-sync"]

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser() -> Browser:
    """One headless Chromium for the whole session."""
    with sync_playwright() as p:
        the_browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield the_browser
        the_browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def new_context(browser, stack):
    """Factory of fresh browser contexts (own cookies) pointed at the web app; all closed after the test."""
    contexts: list[BrowserContext] = []

    def make(viewport: dict | None = None, **kw) -> BrowserContext:
        ctx = browser.new_context(base_url=stack.url(), viewport=viewport or DESKTOP, locale="en-GB",
                                  timezone_id="UTC", **kw)
        ctx.set_default_timeout(10_000)
        ctx.set_default_navigation_timeout(20_000)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()
