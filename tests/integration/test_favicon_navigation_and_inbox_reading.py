"""Favicon, meta description, Settings in the navigation,
and an inbox that is read only when its reader says so, kept beyond 200 entries a page at a time."""

from __future__ import annotations

import re
import uuid

from tests.conftest import csrf_token


def user_id_of(gateway, browser) -> str:
    return gateway.get(f"username:{browser.username.lower()}").value["user_id"]


def deliver(app, user_id: str, count: int, start: int = 1) -> list[str]:
    """Put ``count`` notifications in the inbox the way a notification.sent event does; returns their ids."""
    from webapp import notifications
    ids = []
    with app.app_context():
        for n in range(start, start + count):
            ids.append(f"polish-{uuid.uuid4().hex[:8]}-{n}")
            assert notifications.deliver_to_inbox({"notification_id": ids[-1], "user_id": user_id,
                                                   "message": f"Notification number {n}.", "kind": "info",
                                                   "timestamp": "2026-01-01T12:00:00+00:00"})
    return ids


def badge(browser) -> int:
    match = re.search(r'<span class="badge" aria-label="(\d+) unread">', browser.get("/tasks").get_data(as_text=True))
    return int(match.group(1)) if match else 0


def test_favicon_answers_with_an_image_and_every_page_links_one(anonymous):
    resp = anonymous.get("/favicon.ico")
    assert resp.status_code == 200
    assert resp.content_type.startswith("image/") and resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    html = anonymous.get("/login").get_data(as_text=True)
    svg = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert svg and anonymous.get(svg.group(1)).status_code == 200
    assert re.search(r'<meta name="description" content="[^"]{40,}">', html)


def test_settings_is_a_nav_item_marked_as_the_current_page(user):
    nav = user.get("/settings").get_data(as_text=True).split("</nav>", 1)[0]
    assert re.search(r'<a href="/settings" aria-current="page">Settings</a>', nav)
    nav = user.get("/tasks").get_data(as_text=True).split("</nav>", 1)[0]
    assert re.search(r'<a href="/settings" >Settings</a>', nav)


def test_reading_the_inbox_marks_nothing_read(app, user, gateway):
    deliver(app, user_id_of(gateway, user), 3)
    assert badge(user) == 3
    html = user.get("/notifications").get_data(as_text=True)
    assert html.count('class="notification unread"') == 3 and "3 unread" in html
    assert badge(user) == 3  # GET changed nothing
    assert user.get("/notifications").get_data(as_text=True).count('class="notification unread"') == 3


def test_mark_all_read_needs_a_post_with_the_csrf_token(app, user, gateway):
    uid = user_id_of(gateway, user)
    deliver(app, uid, 2)
    assert user.client.post("/notifications/read-all", data={}).status_code == 400  # no CSRF token
    assert user.get("/notifications/read-all").status_code == 405
    assert badge(user) == 2
    resp = user.form_post("/notifications/read-all", {}, page_url="/notifications")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/notifications")
    html = user.get("/notifications").get_data(as_text=True)
    assert "Marked 2 notifications read." in html
    assert badge(user) == 0
    assert html.count('class="notification read"') == 2 and html.count(">Read</span>") == 2
    assert "Mark all read" not in html


def test_mark_all_read_leaves_what_arrived_after_the_page_was_shown(app, user, gateway):
    uid = user_id_of(gateway, user)
    deliver(app, uid, 2)
    page = user.get("/notifications").get_data(as_text=True)
    late = deliver(app, uid, 1, start=3)[0]
    resp = user.client.post("/notifications/read-all", data={
        "csrf_token": csrf_token(page), "upto": re.search(r'name="upto" value="([^"]+)"', page).group(1)})
    assert resp.status_code == 302
    assert badge(user) == 1
    html = user.get("/notifications").get_data(as_text=True)
    assert re.search(rf'class="notification unread" id="n-{late}"', html)


def test_mark_one_read(app, user, gateway):
    first, second = deliver(app, user_id_of(gateway, user), 2)
    page = user.get("/notifications").get_data(as_text=True)
    resp = user.client.post("/notifications/read", data={"csrf_token": csrf_token(page), "id": first})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/notifications#n-{first}")
    html = user.get("/notifications").get_data(as_text=True)
    assert re.search(rf'class="notification read" id="n-{first}"', html)
    assert re.search(rf'class="notification unread" id="n-{second}"', html)
    assert badge(user) == 1
    assert user.client.post("/notifications/read", data={"csrf_token": csrf_token(page), "id": "nope"}).status_code == 404
    assert user.client.post("/notifications/read", data={"id": second}).status_code == 400  # no CSRF token


def test_the_inbox_keeps_more_than_200_a_page_at_a_time(app, user, gateway):
    uid = user_id_of(gateway, user)
    ids = deliver(app, uid, 260)  # number 260 is the newest
    head = gateway.get(f"inbox:{uid}").value
    assert len(head["items"]) <= app.config["INBOX_LIMIT"]  # the badge still reads one small item
    assert badge(user) == 260
    first = user.get("/notifications").get_data(as_text=True)
    assert "260 notifications · 260 unread · page 1 of 6" in first
    assert first.count('class="notification ') == 50 and "Notification number 260." in first
    assert 'href="/notifications?page=5"' in first and 'rel="next"' in first
    fifth = user.get("/notifications?page=5").get_data(as_text=True)  # entries 201 to 250, newest first
    assert "Notification number 60." in fifth and "Notification number 11." in fifth
    assert "Notification number 61." not in fifth and "Notification number 10." not in fifth
    last = user.get("/notifications?page=6").get_data(as_text=True)
    assert last.count('class="notification ') == 10 and "Notification number 1." in last
    assert user.get("/notifications?page=7").status_code == 404
    assert user.get("/notifications?page=0").status_code == 404

    # Marking an entry that moved out of the head, then everything, keeps the badge exact.
    resp = user.client.post("/notifications/read", data={"csrf_token": csrf_token(last), "id": ids[0], "page": "6"})
    assert resp.status_code == 302 and "/notifications?page=6#n-" in resp.headers["Location"]
    assert badge(user) == 259
    assert re.search(rf'class="notification read" id="n-{ids[0]}"',
                     user.get("/notifications?page=6").get_data(as_text=True))
    user.form_post("/notifications/read-all", {"page": "3"}, page_url="/notifications?page=3")
    assert badge(user) == 0
    assert "unread" not in user.get("/notifications?page=6").get_data(as_text=True).split("<ul", 1)[1]


def test_the_history_stays_bounded(app, user, gateway):
    from webapp.notifications import inbox
    uid = user_id_of(gateway, user)
    deliver(app, uid, inbox.HISTORY + 120)
    head = gateway.get(f"inbox:{uid}").value
    archive = gateway.get(f"inbox-archive:{uid}").value
    kept = len(head["items"]) + len(archive["items"])
    assert inbox.HISTORY - inbox.SPILL <= kept <= inbox.HISTORY
    assert head["archive_count"] == len(archive["items"])
    assert badge(user) == kept
    assert f"Notification number {inbox.HISTORY + 120}." in user.get("/notifications").get_data(as_text=True)
