"""Security suite: CSRF everywhere, cookies, throttling across workers, fuzzing with no server errors."""

from __future__ import annotations

import json
import re
import string
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import csrf_token, unique_name
from tests.integration.test_api import make_token

# POSTs whose authority is a signed link, not a session: a mail client's one-click unsubscribe (RFC 8058) has
# no CSRF token (tests/integration/test_account_isolation.py checks a forged link changes nothing).
SIGNED_LINK_POSTS = {"/unsubscribe/<token>"}
# Every state-changing form route (GET forms excluded), with a path that exists for the user.
STATE_CHANGING = ["/account/email", "/account/password", "/account/sign-out-everywhere", "/password-reset",
                  "/password-reset/abc", "/register", "/login", "/logout", "/settings", "/tasks/new", "/tasks/{id}/edit",
                  "/tasks/{id}/complete", "/tasks/{id}/reopen", "/tasks/{id}/delete", "/tasks/{id}/restore",
                  "/settings/tokens/abc/revoke", "/admin/dead-letters/abc/replay",
                  "/notifications/read", "/notifications/read-all", "/tasks/{id}/move", "/boards",
                  "/boards/abc/members", "/boards/abc/members/abc/role", "/boards/abc/members/abc/remove",
                  "/boards/abc/leave", "/boards/abc/delete", "/tasks/{id}/watch", "/tasks/{id}/comments",
                  "/tasks/{id}/comments/{comment}/edit", "/tasks/{id}/comments/{comment}/delete",
                  "/tasks/{id}/checklist", "/tasks/{id}/checklist/abc",
                  "/account/two-factor", "/login/two-factor", "/login/oidc/link",
                  "/account/delete", "/settings/theme",
                  "/settings/calendar", "/settings/calendar/abc/replace", "/settings/calendar/abc/revoke"]


def test_every_state_changing_form_requires_the_csrf_token(app, user):
    task_id = user.create_task(title="csrf target")
    # Everything but the bearer-token API and the sidecar's inbound routes (app-token checked).
    rules = {r.rule for r in app.url_map.iter_rules() if "POST" in r.methods
             and not r.endpoint.startswith(("api.", "inbound.")) and r.rule not in SIGNED_LINK_POSTS}
    covered = {re.sub(r"\{id\}|\{comment\}|abc", "x", p) for p in STATE_CHANGING}
    assert {re.sub(r"<[^>]+>", "x", r) for r in rules} <= covered, "a POST route is missing from this test"
    assert user.form_post(f"/tasks/{task_id}/comments", {"text": "a comment to target"},
                          page_url=f"/tasks/{task_id}").status_code == 302
    comment_id = re.search(r'id="comment-([0-9a-f]+)"', user.get(f"/tasks/{task_id}").get_data(as_text=True))[1]
    for path in STATE_CHANGING:
        resp = user.client.post(path.format(id=task_id, comment=comment_id),
                                data={"title": "x", "version": "1", "text": "x", "op": "tick", "seen": "x"})
        # /admin does not exist for a non-operator, even to say the form is bad (operators get 400:
        # tests/integration/test_admin.py).
        assert resp.status_code == (404 if path.startswith("/admin/") else 400), path
    assert user.get(f"/tasks/{task_id}").status_code == 200  # nothing changed


def test_production_cookies_are_secure(stack):
    from webapp.app import create_app
    from tests.conftest import app_config
    prod = create_app(app_config(stack, ENV="production"))
    client = prod.test_client()
    resp = client.get("/login")
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def _http_session(base: str):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def post_form(path: str, fields: dict) -> int:
        page = opener.open(base + path, timeout=10).read().decode()
        data = urllib.parse.urlencode({"csrf_token": csrf_token(page), **fields}).encode()
        try:
            return opener.open(urllib.request.Request(base + path, data=data), timeout=10).status
        except urllib.error.HTTPError as err:
            return err.code
    return post_form


def test_login_throttling_holds_across_gunicorn_workers(stack):
    name, password = unique_name("thr"), "correct horse battery"
    assert _http_session(stack.url())("/register", {"username": name, "password": password,
                                                    "confirm": password, "timezone": "UTC"}) in (200, 302)
    # Each attempt is a new connection and session: they spread over both workers.
    codes = [_http_session(stack.url())("/login", {"username": name, "password": "wrong"}) for _ in range(5)]
    assert codes == [422] * 5
    assert _http_session(stack.url())("/login", {"username": name, "password": password}) == 429


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
FORM_VALUES = st.one_of(TEXT, st.sampled_from(["", "pending", "completed", "high", "monthly", "2026-02-30T25:61",
                                               "2026-05-01T10:00", "<script>alert(1)</script>", "'; DROP --",
                                               "\x00", "a" * 6000]))


def test_fuzzing_forms_gives_no_server_errors(user):
    task_id = user.create_task(title="fuzz target")
    token = csrf_token(user.get("/tasks/new").get_data(as_text=True))
    fields = ["title", "description", "status", "priority", "tags", "due_at", "remind_at", "recurrence",
              "version", "original", "name", "timezone", "q", "sort", "page"]
    statuses = []

    @settings(max_examples=500, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(["/tasks/new", f"/tasks/{task_id}/edit", "/settings", "/tasks",
                                 f"/tasks/{task_id}/complete", "/login"]),
           data=st.dictionaries(st.sampled_from(fields), FORM_VALUES, max_size=len(fields)))
    def post(path, data):
        if path == "/tasks":
            resp = user.client.get(path, query_string=data)
        else:
            resp = user.client.post(path, data={**data, "csrf_token": token})
        statuses.append(resp.status_code)
        assert resp.status_code < 500, (path, data, resp.status_code)

    post()
    assert len(statuses) == 500


def test_fuzzing_the_api_gives_no_server_errors(user):
    headers = {"Authorization": f"Bearer {make_token(user, 'fuzz')}"}
    created = user.client.post("/api/v1/tasks", json={"title": "fuzz"}, headers=headers)
    task_id, etag = created.get_json()["id"], created.headers["ETag"]
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                               lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                               max_leaves=10)
    body = st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "title": json_values, "description": json_values, "status": json_values, "priority": json_values,
        "tags": json_values, "due_at": json_values, "remind_at": json_values, "recurrence": json_values}))
    count = []

    @settings(max_examples=500, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(method_path=st.sampled_from([("post", "/api/v1/tasks"), ("put", f"/api/v1/tasks/{task_id}"),
                                        ("put", f"/api/v1/tasks/{task_id}/status"), ("get", "/api/v1/tasks"),
                                        ("delete", f"/api/v1/tasks/{task_id}")]),
           payload=body, if_match=st.sampled_from([etag, '"0"', "", "*", "garbage"]),
           raw=st.booleans())
    def call(method_path, payload, if_match, raw):
        method, path = method_path
        hdrs = {**headers, "If-Match": if_match} if if_match else headers
        if method == "get":
            resp = user.client.get(path, headers=hdrs, query_string=payload if isinstance(payload, dict) else None)
        elif raw:
            resp = getattr(user.client, method)(path, headers={**hdrs, "Content-Type": "application/json"},
                                                data=json.dumps(payload)[:-1] if payload else "{")
        else:
            resp = getattr(user.client, method)(path, headers=hdrs, json=payload)
        count.append(resp.status_code)
        assert resp.status_code < 500, (method, path, payload, resp.get_data(as_text=True)[:300])
        assert resp.is_json or resp.status_code == 204

    call()
    assert len(count) == 500


def test_pages_that_depend_on_the_session_or_a_token_are_not_stored(client, user):
    assert user.get("/tasks").headers["Cache-Control"] == "no-store"
    assert user.get("/settings").headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"  # carries a CSRF token tied to the session
    api = user.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {make_token(user, 'cache')}"})
    assert api.status_code == 200 and api.headers["Cache-Control"] == "no-store"
    denied = client.get("/api/v1/tasks", headers={"Authorization": "Bearer tb_wrong"})
    assert denied.status_code == 401 and denied.headers["Cache-Control"] == "no-store"
    # Nothing personal in these: caches may keep them.
    assert "no-store" not in client.get("/healthz").headers.get("Cache-Control", "")
    assert "no-store" not in client.get("/static/style.css").headers.get("Cache-Control", "")
