"""The JSON API on the real sidecar: tokens, CRUD, ETag / If-Match, isolation, errors."""

from __future__ import annotations

import re

import pytest

from webapp.tasks.fields import DURATION_PATTERN


def make_token(user, name="script") -> str:
    resp = user.form_post("/settings", {"name": name})
    assert resp.status_code == 302  # POST-redirect-GET: the new token is shown once, on the page it leads to
    page = user.get(resp.headers["Location"]).get_data(as_text=True)
    return re.search(r'id="new-token">([^<]+)<', page).group(1)


@pytest.fixture
def api(user):
    token = make_token(user)
    client = user.client

    class Api:
        headers = {"Authorization": f"Bearer {token}"}

        def __getattr__(self, method):
            def call(url, headers=None, **kw):
                return getattr(client, method)(url, headers={**self.headers, **(headers or {})}, **kw)
            return call
    return Api()


def test_openapi_document_is_served(client):
    resp = client.get("/api/v1/openapi.json")
    doc = resp.get_json()
    assert resp.status_code == 200 and doc["openapi"].startswith("3.")
    assert {"/api/v1/tasks", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/status"} <= set(doc["paths"])


def test_requests_without_a_valid_token_are_401(client):
    for headers in ({}, {"Authorization": "Bearer tb_nope"}, {"Authorization": "Basic abc"}):
        resp = client.get("/api/v1/tasks", headers=headers)
        assert resp.status_code == 401 and resp.get_json()["status"] == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_crud_with_etags(api):
    created = api.post("/api/v1/tasks", json={"title": "From API", "priority": "high", "tags": ["Api", "api"],
                                              "due_at": "2030-01-02T03:04:00+00:00"})
    assert created.status_code == 201
    task = created.get_json()
    etag = created.headers["ETag"]
    assert task["tags"] == ["api"] and etag == f'"{task["version"]}"'
    assert created.headers["Location"].endswith(f"/api/v1/tasks/{task['id']}")

    got = api.get(f"/api/v1/tasks/{task['id']}")
    assert got.status_code == 200 and got.headers["ETag"] == etag

    listed = api.get("/api/v1/tasks?priority=high")
    assert [t["id"] for t in listed.get_json()["items"]] == [task["id"]]

    body = {"title": "Renamed", "priority": "low"}
    assert api.put(f"/api/v1/tasks/{task['id']}", json=body).status_code == 428
    updated = api.put(f"/api/v1/tasks/{task['id']}", json=body, headers={"If-Match": etag})
    assert updated.status_code == 200 and updated.get_json()["title"] == "Renamed"
    stale = api.put(f"/api/v1/tasks/{task['id']}", json={"title": "Lost"}, headers={"If-Match": etag})
    assert stale.status_code == 409 and stale.get_json()["status"] == 409
    new_etag = updated.headers["ETag"]

    done = api.put(f"/api/v1/tasks/{task['id']}/status", json={"status": "completed"},
                   headers={"If-Match": new_etag})
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    assert done.get_json()["completed_at"]

    assert api.delete(f"/api/v1/tasks/{task['id']}", headers={"If-Match": new_etag}).status_code == 409
    gone = api.delete(f"/api/v1/tasks/{task['id']}", headers={"If-Match": done.headers["ETag"]})
    assert gone.status_code == 204
    assert api.get(f"/api/v1/tasks/{task['id']}").status_code == 404


@pytest.mark.parametrize("body", [
    {},
    {"title": ""},
    {"title": "x" * 201},
    {"title": "ok", "priority": "urgent"},
    {"title": "ok", "tags": ["x" * 33]},
    {"title": "ok", "tags": [str(i) for i in range(11)]},
    {"title": "ok", "due_at": "2030-01-01T00:00:00"},  # no time zone
    {"title": "ok", "estimate": "soon"},
    {"title": "ok", "estimate": "1000h"},
    {"title": "ok", "estimate": 90},
])
def test_invalid_json_gets_422_with_a_json_body(api, body):
    resp = api.post("/api/v1/tasks", json=body)
    assert resp.status_code == 422 and resp.is_json and resp.get_json()["status"] == 422


def test_malformed_json_is_a_json_error(api):
    resp = api.post("/api/v1/tasks", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code in (400, 422) and resp.is_json


def test_tokens_are_isolated_and_revocable(user, other_user, api):
    task = api.post("/api/v1/tasks", json={"title": "Mine"}).get_json()
    other_token = make_token(other_user, "theirs")
    theirs = {"Authorization": f"Bearer {other_token}"}
    client = other_user.client
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=theirs).status_code == 404
    assert client.delete(f"/api/v1/tasks/{task['id']}", headers={**theirs, "If-Match": '"1"'}).status_code == 404
    assert client.get("/api/v1/tasks", headers=theirs).get_json()["items"] == []
    page = other_user.get("/settings").get_data(as_text=True)
    token_id = re.search(r'/settings/tokens/([0-9a-f]+)/revoke', page).group(1)
    # Someone else's token id is 404 too.
    assert user.form_post(f"/settings/tokens/{token_id}/revoke", {}, page_url="/settings").status_code == 404
    assert other_user.form_post(f"/settings/tokens/{token_id}/revoke", {}, page_url="/settings").status_code == 302
    assert client.get("/api/v1/tasks", headers=theirs).status_code == 401


def test_restore_undoes_a_delete_once(api):
    task = api.post("/api/v1/tasks", json={"title": "Back again", "tags": ["x"]}).get_json()
    url = f"/api/v1/tasks/{task['id']}"
    assert api.post(f"{url}/restore").status_code == 404  # not deleted
    assert api.delete(url, headers={"If-Match": f'"{task["version"]}"'}).status_code == 204
    restored = api.post(f"{url}/restore")
    body = restored.get_json()
    assert restored.status_code == 200 and (body["title"], body["tags"]) == ("Back again", ["x"])
    assert restored.headers["ETag"] == f'"{body["version"]}"' and body["version"] == "3"
    assert api.get(url).status_code == 200
    assert [t["id"] for t in api.get("/api/v1/tasks").get_json()["items"]] == [task["id"]]
    assert api.post(f"{url}/restore").status_code == 404  # twice: nothing left to undo


def test_an_estimate_goes_in_as_text_and_comes_back_normalised(api):
    estimated = api.post("/api/v1/tasks", json={"title": "Estimated", "estimate": "90m"})
    assert estimated.status_code == 201 and estimated.get_json()["estimate"] == "1h30m"
    plain = api.post("/api/v1/tasks", json={"title": "Plain"}).get_json()
    assert plain["estimate"] is None
    listed = api.get("/api/v1/tasks?sort=estimate").get_json()["items"]
    assert [(t["title"], t["estimate"]) for t in listed] == [("Estimated", "1h30m"), ("Plain", None)]
    task = estimated.get_json()
    cleared = api.put(f"/api/v1/tasks/{task['id']}", json={"title": "Estimated", "estimate": None},
                      headers={"If-Match": estimated.headers["ETag"]})
    assert cleared.status_code == 200 and cleared.get_json()["estimate"] is None


def test_the_openapi_document_describes_the_estimate(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    for name in ("TaskIn", "TaskOut"):
        estimate = schemas[name]["properties"]["estimate"]
        assert estimate["type"] == "string" and estimate["nullable"] and "1h30m" in estimate["description"]
        assert estimate["pattern"] == DURATION_PATTERN
    sort = next(p for p in doc["paths"]["/api/v1/tasks"]["get"]["parameters"] if p["name"] == "sort")
    assert "estimate" in sort["schema"]["enum"]
