"""The browser journey against the cluster: register, create, complete, and the notification reaches the inbox
(taskboard -> its sidecar -> notification-service's sidecar -> the webhook binding -> pub/sub -> the inbox).
Chromium runs inside the cluster's network namespace and opens https://taskboard.local: the name maps to the
ingress's address (--host-resolver-rules) and the local CA is a trusted root in the NSS database of the
browser's own HOME (certutil), as a user would import it — certificate checks stay on."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from ..browser.actions import DESKTOP, create_task, register, reload_until, submit
from ..browser.conftest import CHROMIUM, CHROMIUM_ARGS
from .conftest import HOST, INGRESS_CA


@pytest.fixture(scope="session")
def browser_home(tmp_path_factory) -> Path:
    """A HOME whose NSS database (Chromium's certificate store on Linux) trusts the local web CA."""
    home = tmp_path_factory.mktemp("chromium-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "taskboard-local-web-ca", "-t", "C,,",
                    "-i", str(INGRESS_CA)], check=True)
    return home


@pytest.fixture
def page(ingress, browser_home):
    args = [*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} {ingress.address}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args,
                                    env={**os.environ, "HOME": str(browser_home)})
        context = browser.new_context(base_url=f"https://{HOST}", viewport=DESKTOP, locale="en-GB",
                                      timezone_id="UTC")
        context.set_default_timeout(20_000)
        context.set_default_navigation_timeout(30_000)
        yield context.new_page()
        context.close()
        browser.close()


def test_register_create_complete_and_the_notification_arrives(page):
    register(page)
    title = f"Ship it on Kubernetes {uuid.uuid4().hex[:6]}"
    task_id = create_task(page, title, priority="high")
    assert page.goto(f"/tasks/{task_id}").status == 200
    resp = submit(page, page.locator("article").get_by_role("button", name="Complete"))
    assert resp.status == 200
    expect(page.locator(".flash-success")).to_have_text(f"Completed “{title}”.")
    badge = page.locator(".nav .badge")
    reload_until(page, lambda: badge.count() == 1, timeout=60)
    expect(badge).to_have_text("1")
    assert page.goto("/notifications").status == 200
    note = page.locator(".inbox .notification").filter(has_text=f"“{title}” was completed.")
    expect(note).to_have_count(1)
    expect(note.get_by_role("link", name="Open task")).to_have_attribute("href", f"/tasks/{task_id}")
