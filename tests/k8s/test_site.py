"""The site as its users reach it, at https://taskboard.local through the ingress: an API round trip with a
personal access token (absolute URLs the app builds are https://taskboard.local ones: ProxyFix reads the one
proxy's X-Forwarded-Proto/-Host), another user's task is answered like a task that does not exist, and login's
`next` never sends anyone off the site."""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid

from ..security.redirect_payloads import BYPASS_PAYLOADS, browser_resolve
from .conftest import HOST, PASSWORD, WebUser

SITE = f"https://{HOST}"


def make_token(user: WebUser) -> str:
    """A personal access token made on the settings page (shown once, on the page the form redirects to)."""
    status, headers, text = user.form_post("/settings", {"name": "k8s"})
    assert status == 302, (status, text[:500])
    status, _, page = user.request("GET", headers["location"])
    assert status == 200, status
    return re.search(r'id="new-token">([^<]+)<', page).group(1)


def test_an_api_round_trip(web_user):
    auth = {"Authorization": f"Bearer {make_token(web_user)}"}
    status, headers, text = web_user.request("POST", "/api/v1/tasks", headers=auth,
                                             json_body={"title": "Through the ingress", "priority": "high"})
    assert status == 201, (status, text[:500])
    task = json.loads(text)
    assert headers["location"] in (f"{SITE}/api/v1/tasks/{task['id']}", f"/api/v1/tasks/{task['id']}")
    etag = headers["etag"]
    status, headers, text = web_user.request("GET", f"/api/v1/tasks/{task['id']}", headers=auth)
    assert status == 200 and headers["etag"] == etag and json.loads(text)["title"] == "Through the ingress"
    status, headers, text = web_user.request("PUT", f"/api/v1/tasks/{task['id']}",
                                             headers={**auth, "If-Match": etag},
                                             json_body={"title": "Renamed", "priority": "low"})
    assert status == 200 and json.loads(text)["title"] == "Renamed", (status, text[:500])
    status, _, text = web_user.request("GET", "/api/v1/tasks?priority=low", headers=auth)
    assert [t["id"] for t in json.loads(text)["items"]] == [task["id"]]


def test_another_users_task_is_answered_like_no_task(ingress, web_user):
    task_id = web_user.create_task(f"Mine {uuid.uuid4().hex[:6]}")
    assert web_user.request("GET", f"/tasks/{task_id}")[0] == 200
    other = ingress.user()
    other.register()
    theirs, _, _ = other.request("GET", f"/tasks/{task_id}")
    nothing, _, _ = other.request("GET", f"/tasks/{uuid.uuid4().hex}")
    assert theirs == nothing == 404
    auth = {"Authorization": f"Bearer {make_token(other)}"}
    assert other.request("GET", f"/api/v1/tasks/{task_id}", headers=auth)[0] == 404


def test_login_next_never_leaves_the_site(ingress):
    username = ingress.user().register()
    for payload in BYPASS_PAYLOADS:
        path = "/login?" + urllib.parse.urlencode({"next": payload})
        status, headers, text = ingress.user().form_post(
            path, {"username": username, "password": PASSWORD})
        assert status == 302, (payload, status, text[:300])
        where = browser_resolve(f"{SITE}/login", headers["location"])
        assert (where.scheme, where.netloc) == ("https", HOST), (payload, headers["location"])
        decoded = urllib.parse.unquote(urllib.parse.unquote(where.path))
        assert not decoded.startswith("//") and "\\" not in decoded, (payload, headers["location"])
