"""Revoking an API token is final on the real store: a write of the token by a request that read it
before the revocation (its last-used date, its owner's new time zone) never brings it back."""

from __future__ import annotations

import hashlib
import re
import threading

import pytest

from tests.integration.test_api import make_token

REVOKE_RE = re.compile(r'/settings/tokens/([0-9a-f]+)/revoke')


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_key(token: str) -> str:
    return f"token:{hashlib.sha256(token.encode()).hexdigest()}"


@pytest.fixture
def revoke_before_write(gateway, monkeypatch):
    """Arms a revocation that runs, through the owner's browser, right before the app's first write of
    ``key``: the write then carries what was read before the token was revoked (the real write follows)."""
    real_save = gateway.save
    armed: dict = {}

    def save(key, *args, **kwargs):
        if key == armed.get("key") and not armed.get("done"):
            armed["done"] = True
            revoker = threading.Thread(target=lambda: armed.update(status=armed["revoke"]()))
            revoker.start()
            revoker.join()
        return real_save(key, *args, **kwargs)

    monkeypatch.setattr(gateway, "save", save)

    def arm(user, token: str) -> dict:
        page = user.get("/settings").get_data(as_text=True)
        token_id = hashlib.sha256(token.encode()).hexdigest()[:12]
        assert token_id in REVOKE_RE.findall(page)
        armed.update(key=token_key(token), revoke=lambda: user.form_post(
            f"/settings/tokens/{token_id}/revoke", {}, page_url="/settings").status_code)
        return armed

    return arm


def assert_gone_for_good(user, gateway, app, token: str) -> None:
    """The token does not authenticate, holds no owner in the store, and Settings does not list it."""
    assert app.test_client().get("/api/v1/tasks", headers=bearer(token)).status_code == 401
    stored = gateway.get(token_key(token)).value or {}
    assert "user_id" not in stored, stored
    assert hashlib.sha256(token.encode()).hexdigest()[:12] not in user.get("/settings").get_data(as_text=True)


def test_a_last_used_write_racing_the_revocation_does_not_bring_the_token_back(app, user, gateway,
                                                                               revoke_before_write):
    token = make_token(user, "raced")
    armed = revoke_before_write(user, token)  # the first call records the last use: it writes the token
    app.test_client().get("/api/v1/tasks", headers=bearer(token))
    assert armed.get("status") == 302
    assert_gone_for_good(user, gateway, app, token)


def test_a_time_zone_change_racing_the_revocation_does_not_bring_the_token_back(app, user, gateway,
                                                                                revoke_before_write):
    token = make_token(user, "rezoned")
    armed = revoke_before_write(user, token)  # a zone change rewrites the zone stored in each token
    assert user.form_post("/settings", {"timezone": "Europe/Paris"}).status_code == 302
    assert armed.get("status") == 302
    assert_gone_for_good(user, gateway, app, token)


def test_many_calls_while_revoking_leave_the_token_revoked(app, user, gateway):
    token = make_token(user, "busy")
    token_id = hashlib.sha256(token.encode()).hexdigest()[:12]
    start = threading.Barrier(17)
    statuses: list[int] = []

    def call() -> None:
        client = app.test_client()
        start.wait()
        for _ in range(5):
            statuses.append(client.get("/api/v1/tasks", headers=bearer(token)).status_code)

    callers = [threading.Thread(target=call) for _ in range(16)]
    for caller in callers:
        caller.start()
    start.wait()
    assert user.form_post(f"/settings/tokens/{token_id}/revoke", {}, page_url="/settings").status_code == 302
    for caller in callers:
        caller.join()
    assert set(statuses) <= {200, 401}, statuses
    assert_gone_for_good(user, gateway, app, token)


def test_revoking_the_same_token_twice_is_not_found_the_second_time(user):
    token = make_token(user, "twice")
    token_id = hashlib.sha256(token.encode()).hexdigest()[:12]
    assert user.form_post(f"/settings/tokens/{token_id}/revoke", {}, page_url="/settings").status_code == 302
    assert user.form_post(f"/settings/tokens/{token_id}/revoke", {}, page_url="/settings").status_code == 404
