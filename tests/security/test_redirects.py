"""Open redirects: every redirect target taken from a request stays on this site, whatever it is."""

from __future__ import annotations

from urllib.parse import unquote

from tests.conftest import Browser
from tests.security.redirect_payloads import BYPASS_PAYLOADS, browser_resolve

PASSWORD = "correct horse battery"
BASE = "http://localhost/login"


def _assert_stays_here(resp, payload):
    assert resp.status_code < 500, (payload, resp.status_code)
    assert resp.status_code == 302, (payload, resp.status_code, resp.get_data(as_text=True)[:300])
    location = resp.headers["Location"]
    where = browser_resolve(BASE, location)
    assert (where.scheme, where.netloc) == ("http", "localhost"), (payload, location)
    decoded = unquote(unquote(where.path))
    assert not decoded.startswith("//") and "\\" not in decoded, (payload, location)


def test_login_with_a_bypass_payload_as_next_never_leaves_the_site(app, user):
    assert len(BYPASS_PAYLOADS) >= 40
    for payload in BYPASS_PAYLOADS:
        browser = Browser(app.test_client())
        page = browser.get("/login", query_string={"next": payload})
        assert page.status_code == 200, payload
        resp = browser.form_post("/login", {"username": user.username, "password": PASSWORD},
                                 page_url="/login", query_string={"next": payload})
        _assert_stays_here(resp, payload)
        # Signed in already, /login sends the user on too: the same check applies.
        _assert_stays_here(browser.get("/login", query_string={"next": payload}), payload)


def test_the_values_that_broke_the_old_check(app, user):
    # "/\t/host" passed the old check and a browser drops the tab: Location //evil.example.
    # "/\r\n…" passed it too and made werkzeug raise: a successful login answered 500.
    for payload in ("/\t/evil.example", "/\r\nSet-Cookie: pwned=1"):
        browser = Browser(app.test_client())
        resp = browser.form_post("/login", {"username": user.username, "password": PASSWORD},
                                 page_url="/login", query_string={"next": payload})
        assert resp.status_code == 302 and resp.headers["Location"] == "/tasks", payload


def test_a_local_next_is_kept(app, user):
    for payload, expected in (("/tasks?page=2&sort=due", "/tasks?page=2&sort=due"),
                              ("/notifications", "/notifications"),
                              ("/tasks?q=caf\u00e9", "/tasks?q=caf%C3%A9")):
        browser = Browser(app.test_client())
        resp = browser.form_post("/login", {"username": user.username, "password": PASSWORD},
                                 page_url="/login", query_string={"next": payload})
        assert resp.status_code == 302 and resp.headers["Location"] == expected


def test_a_login_redirect_from_a_protected_page_comes_back_to_it(app, user):
    browser = Browser(app.test_client())
    to_login = browser.get("/notifications")
    assert to_login.status_code == 302
    resp = browser.form_post(to_login.headers["Location"], {"username": user.username, "password": PASSWORD},
                             page_url=to_login.headers["Location"])
    assert resp.status_code == 302 and resp.headers["Location"] == "/notifications"


def test_task_transitions_ignore_a_foreign_next(user):
    task_id = user.create_task(title="redirect target")
    actions = ["complete", "reopen"]
    for n, payload in enumerate(BYPASS_PAYLOADS):
        resp = user.form_post(f"/tasks/{task_id}/{actions[n % 2]}",
                              {"version": user.version_of(task_id), "next": payload}, page_url=f"/tasks/{task_id}")
        _assert_stays_here(resp, payload)
