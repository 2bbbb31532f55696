"""Every page at 390 px with long unbroken text (200-character titles and usernames, 32-character tags, long
board and token names, a long description, a notification) stays within the viewport, and every page has 0 axe
violations (WCAG 2.1 A and AA) in the light and in the dark colour scheme (Playwright's color_scheme emulation) and
with dark chosen on Settings; the pages only a form reaches (a conflict, a comment's preview, a checklist conflict)
too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .actions import DESKTOP, MOBILE, submit
from .conftest import ROOT
from .world import World, build

OVERFLOW = """() => ({scroll: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth,
  wide: Array.from(document.querySelectorAll('body *')).filter(el => el.getBoundingClientRect().right >
    document.documentElement.clientWidth + 0.5).slice(0, 5).map(el => el.tagName + '.' + el.className)})"""
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def axe_script() -> Path:
    """axe-core's axe.min.js, pinned and cached (scripts/provision-axe.sh)."""
    out = subprocess.run(["bash", str(ROOT / "scripts/provision-axe.sh")], capture_output=True, text=True,
                         check=True, timeout=300)
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def world(browser, stack, app) -> tuple[World, dict]:
    """The seeded world and the signed-in person's cookies (shared by every context of this module)."""
    context = browser.new_context(base_url=stack.url(), viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    page = context.new_page()
    seeded = build(page, app)
    state = context.storage_state()
    context.close()
    return seeded, state


def _context(browser, stack, state, viewport, scheme, **kw):
    ctx = browser.new_context(base_url=stack.url(), viewport=viewport, locale="en-GB", timezone_id="UTC",
                              color_scheme=scheme, storage_state=state, **kw)
    ctx.set_default_timeout(15_000)
    return ctx


def _conflict_page(page) -> None:
    """The conflict page of the board's task: its edit form submitted at a stale version."""
    page.evaluate("() => { document.querySelector('input[name=version]').value = '0'; }")
    resp = submit(page, page.get_by_role("button", name="Save"))
    assert resp.status == 409
    page.wait_for_load_state("load")  # its stylesheet applied (submit waits for the DOM only)


def _visit(page, path: str, seeded) -> None:
    """Open a page; the pages only a form reaches are made by submitting it."""
    if path == "conflict":
        page.goto(f"/tasks/{seeded.task_id}/edit")
        _conflict_page(page)
    elif path == "comment-preview":  # the task page showing a comment's preview
        page.goto(f"/tasks/{seeded.task_id}")
        page.get_by_label("Add a comment").fill(f"**{'p' * 150}** @{seeded.username}")
        assert submit(page, page.get_by_role("button", name="Preview", exact=True)).status == 200
        page.wait_for_load_state("load")
    elif path == "checklist-conflict":  # a tick from a page that showed the item otherwise
        page.goto(f"/tasks/{seeded.task_id}")
        page.evaluate("document.querySelector('.checklist-item input[name=seen]').value = '000000000000'")
        assert submit(page, page.locator(".checklist-item").first.get_by_role("button").first).status == 409
        page.wait_for_load_state("load")
    else:
        assert page.goto(path).status == (404 if path.endswith("0" * 32) else 200), path


FORMS_ONLY = ["conflict", "comment-preview", "checklist-conflict"]


def test_no_page_scrolls_sideways_at_390_px_whatever_the_text(browser, stack, world, screenshots):
    seeded, state = world
    ctx = _context(browser, stack, state, MOBILE, "light")
    page = ctx.new_page()
    wide = {}
    for path in seeded.pages + FORMS_ONLY:
        _visit(page, path, seeded)
        found = page.evaluate(OVERFLOW)
        if found["scroll"] > found["viewport"]:
            wide[path] = found
    anonymous = _context(browser, stack, None, MOBILE, "light").new_page()
    for path in seeded.public:
        assert anonymous.goto(path).status == 200, path
        found = anonymous.evaluate(OVERFLOW)
        if found["scroll"] > found["viewport"]:
            wide[path] = found
    page.goto("/my")
    page.screenshot(path=screenshots / "long-text-my-390.png", full_page=True)
    page.goto(f"/boards/{seeded.board_id}")
    page.screenshot(path=screenshots / "long-text-board-390.png", full_page=True)
    assert wide == {}, f"pages wider than the viewport: {wide}"
    ctx.close()


@pytest.mark.parametrize("scheme", ["light", "dark", "chosen-dark"])
def test_every_page_has_no_axe_violations(browser, stack, world, axe_script, scheme):
    """``chosen-dark``: dark chosen on Settings under a light system (signed-out pages follow the system)."""
    seeded, state = world
    system = "light" if scheme == "chosen-dark" else scheme
    # The page's CSP (script-src 'self') would refuse the injected engine: these contexts let it in.
    ctx = _context(browser, stack, state, DESKTOP, system, bypass_csp=True)
    page = ctx.new_page()
    if scheme == "chosen-dark":
        _choose_theme(page, "Dark")
    found = {}
    anonymous = _context(browser, stack, None, DESKTOP, system, bypass_csp=True).new_page()
    visits = [(page, p) for p in seeded.pages + FORMS_ONLY] + [(anonymous, p) for p in seeded.public]
    for tab, path in visits:
        _visit(tab, path, seeded)
        tab.add_script_tag(path=str(axe_script))
        result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
        assert "color-contrast" in {p["id"] for p in result["passes"]}, path  # the contrast was really checked
        background = tab.evaluate("() => getComputedStyle(document.body).backgroundColor")
        shown = system if tab is anonymous else ("dark" if scheme == "chosen-dark" else scheme)
        assert background == {"light": "rgb(245, 246, 248)", "dark": "rgb(15, 20, 27)"}[shown], path
        violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
        if violations:
            found[path] = violations
    if scheme == "chosen-dark":
        _choose_theme(page, "As my system")
    assert found == {}, f"axe violations ({scheme}): {found}"
    ctx.close()


def _choose_theme(page, label: str) -> None:
    assert page.goto("/settings").status == 200
    page.get_by_label(label).check()
    assert submit(page, page.locator("#appearance").get_by_role("button", name="Save")).status == 200
