"""Personal access tokens on Settings: every live one listed and revocable, a limit, dates, expiry, PRG."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta, timezone

from tests.integration.test_api import make_token

TOKEN_RE = re.compile(r'id="new-token">([^<]+)<')
REVOKE_RE = re.compile(r'/settings/tokens/([0-9a-f]+)/revoke')


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def profile(user) -> dict:
    with user.client.session_transaction() as session:
        return session["profile"]


def test_creating_a_token_is_post_redirect_get(user):
    resp = user.form_post("/settings", {"name": "ci", "expires": "0"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/settings")
    page = user.get("/settings").get_data(as_text=True)
    token = TOKEN_RE.search(page).group(1)
    assert user.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    again = user.get("/settings").get_data(as_text=True)  # a reload: shown once, nothing created
    assert not TOKEN_RE.search(again) and token not in again
    assert len(REVOKE_RE.findall(again)) == 1


def test_every_live_token_is_listed_up_to_the_limit_and_one_more_is_refused(app, user):
    from webapp.auth import tokens, users
    limit = 50
    with app.test_request_context():
        me = users.User(profile(user)["id"], user.username)
        made = [tokens.create(me, f"t{n}") for n in range(limit)]
    refused = user.form_post("/settings", {"name": "one too many"})  # the old list took it and dropped t0
    assert refused.status_code == 422
    assert f"You already have {limit} tokens" in refused.get_data(as_text=True)
    page = user.get("/settings").get_data(as_text=True)
    assert len(set(REVOKE_RE.findall(page))) == limit and "one too many" not in page
    assert all(f">t{n}<" in page for n in range(limit))  # no silent cut: the first one is there too
    # The oldest token is on the page and revoking it ends it.
    oldest_id = hashlib.sha256(made[0].encode()).hexdigest()[:12]
    assert user.form_post(f"/settings/tokens/{oldest_id}/revoke", {}, page_url="/settings").status_code == 302
    assert user.client.get("/api/v1/tasks", headers=bearer(made[0])).status_code == 401
    assert user.form_post("/settings", {"name": "room again"}).status_code == 302


def test_a_token_from_before_every_token_was_listed_shows_up_and_can_be_revoked(user, gateway):
    # The old list kept the newest 50 entries: older token:* keys were unlisted yet kept working.
    me = profile(user)
    token = "tb_" + secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    gateway.save(f"token:{digest}", {"id": digest[:12], "name": "forgotten", "created_at": "2025-01-01T00:00:00+00:00",
                                     "user_id": me["id"], "username": me["username"], "timezone": "UTC"})
    assert user.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    page = user.get("/settings").get_data(as_text=True)
    assert "forgotten" in page and digest[:12] in REVOKE_RE.findall(page)
    assert user.form_post(f"/settings/tokens/{digest[:12]}/revoke", {}, page_url="/settings").status_code == 302
    assert user.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401


def test_created_last_used_and_expiry_dates_are_shown(user, gateway):
    user.form_post("/settings", {"timezone": "Asia/Tokyo"})
    resp = user.form_post("/settings", {"name": "monthly", "expires": "30"})
    assert resp.status_code == 302
    token = TOKEN_RE.search(user.get("/settings").get_data(as_text=True)).group(1)
    page = user.get("/settings").get_data(as_text=True)
    assert "never used" in page
    expires = (datetime.now(timezone.utc) + timedelta(days=30)).astimezone(timezone(timedelta(hours=9)))
    assert f"expires {expires:%a} {expires.day} {expires:%b %Y}," in page  # in the user's zone (Tokyo)
    key = f"token:{hashlib.sha256(token.encode()).hexdigest()}"
    assert user.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    first_use = gateway.get(key).value["last_used_at"]
    assert first_use and "last used" in user.get("/settings").get_data(as_text=True)
    for _ in range(3):  # within the hour: no write per call
        user.client.get("/api/v1/tasks", headers=bearer(token))
    assert gateway.get(key).value["last_used_at"] == first_use


def test_an_expired_token_stops_authenticating_and_leaves_the_list(user, gateway):
    assert user.form_post("/settings", {"name": "short", "expires": "30"}).status_code == 302
    token = TOKEN_RE.search(user.get("/settings").get_data(as_text=True)).group(1)
    key = f"token:{hashlib.sha256(token.encode()).hexdigest()}"
    record = gateway.get(key).value
    assert record["expires_at"]
    past = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    gateway.save(key, {**record, "expires_at": past})
    assert user.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401
    assert "short" not in user.get("/settings").get_data(as_text=True)


def test_an_expiring_token_is_dropped_by_the_store_when_it_expires(app, user, gateway):
    from webapp.auth import tokens
    assert user.form_post("/settings", {"name": "ttl", "expires": "30"}).status_code == 302
    token = TOKEN_RE.search(user.get("/settings").get_data(as_text=True)).group(1)
    digest = hashlib.sha256(token.encode()).hexdigest()
    record = gateway.get(f"token:{digest}").value
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    with app.test_request_context():
        tokens._save(digest, {**record, "expires_at": soon})  # the TTL follows expires_at
    import time
    time.sleep(3.5)
    assert not gateway.get(f"token:{digest}").exists


def test_api_calls_use_the_time_zone_the_user_has_now(user, gateway):
    token = make_token(user, "zoned")
    assert user.form_post("/settings", {"timezone": "America/New_York"}).status_code == 302
    created = user.client.post("/api/v1/tasks", json={"title": "Zoned", "recurrence": "daily",
                                                      "due_at": "2030-01-02T09:00:00+00:00"},
                               headers=bearer(token))
    assert created.status_code == 201
    assert gateway.get(f"task:{created.get_json()['id']}").value["timezone"] == "America/New_York"


def session_payloads(app, response) -> list[str]:
    """Every cookie the response sets, raw and (the session's) as its decoded payload."""
    serializer = app.session_interface.get_signing_serializer(app)
    values = []
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        values.append(value)
        if name == app.config["SESSION_COOKIE_NAME"] and value:
            values.append(json.dumps(serializer.loads(value)))
    return values


def test_a_new_token_never_travels_in_a_cookie(app, user):
    created = user.form_post("/settings", {"name": "secret", "expires": "0"})
    assert created.status_code == 302
    shown = user.get("/settings")
    token = TOKEN_RE.search(shown.get_data(as_text=True)).group(1)
    cookies = session_payloads(app, created) + session_payloads(app, shown)
    assert cookies and not any(token in value or token[len("tb_"):] in value for value in cookies), cookies
    assert user.client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
