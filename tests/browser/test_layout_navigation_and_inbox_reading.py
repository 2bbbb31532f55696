"""In the real browser: the filter bar at 1280 and 390 px, Settings in the navigation,
contrast of a completed row as rendered, no failed requests, and the inbox's read/unread state."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from .actions import DESKTOP, MOBILE, create_task, register, submit

# How much room a control needs to show its text whole, against what it has, measured in the page:
# an input needs its placeholder's width (canvas measureText in the input's own font) plus its padding and
# border; a menu needs the width Chromium gives the same <select> when nothing constrains it.
FITS = """() => Array.from(document.querySelectorAll('form.filters input[type=text], form.filters select')).map(el => {
  const style = getComputedStyle(el);
  let need;
  if (el.tagName === 'INPUT') {
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = style.font;
    need = ctx.measureText(el.placeholder).width + ['paddingLeft', 'paddingRight', 'borderLeftWidth',
      'borderRightWidth'].reduce((sum, p) => sum + parseFloat(style[p]), 0);
  } else {
    const free = el.cloneNode(true);
    free.style.cssText = 'position:absolute;visibility:hidden;width:auto;min-width:0;max-width:none';
    document.body.appendChild(free);
    need = free.getBoundingClientRect().width;
    free.remove();
  }
  const box = el.getBoundingClientRect(), form = el.closest('form').getBoundingClientRect();
  return {id: el.id, need, has: box.width, left: box.left, right: box.right, formLeft: form.left,
          formRight: form.right, viewport: document.documentElement.clientWidth,
          pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth};
})"""

# The contrast of a text element as drawn: its colour and the first opaque background behind it, both faded
# by the opacity of every ancestor (opacity is how the completed row used to lose its contrast).
CONTRAST = """el => {
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let alpha = 1, bg = null;
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const style = getComputedStyle(node);
    alpha *= parseFloat(style.opacity);
    const b = rgb(style.backgroundColor);
    if (!bg && (b.length === 3 || b[3] === 1)) bg = b.slice(0, 3);
  }
  bg = bg || [255, 255, 255];
  const page = rgb(getComputedStyle(document.body).backgroundColor).slice(0, 3);
  const mix = c => c.map((v, i) => alpha * v + (1 - alpha) * page[i]);
  const [a, b] = [lum(mix(rgb(getComputedStyle(el).color).slice(0, 3))), lum(mix(bg))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280", "390"])
def test_filter_bar_shows_the_whole_placeholder_and_menus(new_context, screenshots, viewport):
    page = new_context(viewport=viewport).new_page()
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    register(page)
    title = f"Polish {uuid.uuid4().hex[:6]}"
    task_id = create_task(page, title, tags="errands, home", due="2030-05-01T09:30")
    assert page.goto(f"/tasks/{task_id}").status == 200
    assert submit(page, page.locator("article").get_by_role("button", name="Complete")).status == 200
    assert page.goto("/tasks?sort=updated").status == 200
    page.screenshot(path=screenshots / f"polish-list-{viewport['width']}.png", full_page=True)

    controls = page.evaluate(FITS)
    assert {c["id"] for c in controls} == {"q", "status", "priority", "tag", "sort"}
    for c in controls:
        assert c["has"] + 0.5 >= c["need"], f"{c['id']} is cut off: {c['has']:.0f} px for {c['need']:.0f} px of text"
        assert c["formLeft"] <= c["left"] and c["right"] <= c["formRight"], f"{c['id']} sticks out of the filter bar"
        assert 0 <= c["left"] and c["right"] <= c["viewport"], f"{c['id']} is outside the viewport"
        assert not c["pageScrolls"], "the page scrolls sideways"

    # A completed row's due date, tag and badges keep WCAG AA contrast (4.5:1) as rendered.
    row = page.locator("li.task.done").filter(has_text=title)
    texts = [row.locator(".due"), row.locator(".tag").first, row.locator(".pill").first, row.locator(".task-title")]
    for locator in texts:
        ratio = locator.evaluate(CONTRAST)
        assert ratio >= 4.5, f"{locator}: {ratio:.2f}:1"
    assert failed == [], f"requests failed (the favicon among them?): {failed}"


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280", "390"])
def test_settings_is_a_visible_nav_item_with_its_current_page_state(new_context, screenshots, viewport):
    page = new_context(viewport=viewport).new_page()
    register(page)
    nav = page.get_by_role("navigation", name="Main")
    settings = nav.get_by_role("link", name="Settings", exact=True)
    expect(settings).to_be_visible()
    expect(settings).not_to_have_attribute("aria-current", "page")
    settings.click()
    page.wait_for_url(re.compile(r"/settings$"))
    expect(settings).to_have_attribute("aria-current", "page")
    expect(nav.locator('[aria-current="page"]')).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    box = settings.bounding_box()
    assert box and 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"]
    page.screenshot(path=screenshots / f"polish-settings-{viewport['width']}.png")
    assert page.locator('link[rel="icon"]').count() == 2
    assert len(page.locator('meta[name="description"]').get_attribute("content")) > 40


def test_inbox_is_marked_read_only_on_request(new_context, screenshots, app, gateway):
    from webapp import notifications
    page = new_context(viewport=MOBILE).new_page()
    username = register(page)
    user_id = gateway.get(f"username:{username.lower()}").value["user_id"]
    with app.app_context():
        for n in range(1, 53):
            notifications.deliver_to_inbox({"notification_id": f"pw-{uuid.uuid4().hex}", "user_id": user_id,
                                            "message": f"Notification {n} for the browser.",
                                            "timestamp": "2026-01-01T12:00:00+00:00"})
    assert page.goto("/notifications").status == 200
    expect(page.locator(".nav .badge")).to_have_text("52")
    newest = page.locator(".inbox .notification").first
    expect(newest).to_contain_text("Notification 52 for the browser.")
    assert submit(page, newest.get_by_role("button", name="Mark read")).status == 200
    expect(page.locator(".nav .badge")).to_have_text("51")
    expect(newest).to_have_class(re.compile(r"\bread\b"))
    expect(newest.locator(".read-label")).to_have_text("Read")
    expect(page.locator(".inbox .notification").nth(1).locator(".new")).to_have_text("New")
    page.screenshot(path=screenshots / "polish-inbox-390.png", full_page=True)
    pager = page.get_by_role("navigation", name="Notification pages")
    assert submit(page, pager.get_by_role("link", name="2", exact=True)).status == 200
    expect(page.locator(".inbox .notification")).to_have_count(2)
    expect(pager.get_by_role("link", name="2", exact=True)).to_have_attribute("aria-current", "page")
    assert submit(page, page.get_by_role("button", name="Mark all read")).status == 200
    expect(page.locator(".nav .badge")).to_have_count(0)
    expect(page.locator(".flash-success")).to_have_text("Marked 51 notifications read.")
