"""A second stack for the scale suite: two instances of each app, each beside its own daprd with the
same app-id, sharing Redis and the scheduler, behind HAProxy (what `make run REPLICAS=2` starts)."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.conftest import csrf_token, gateway_of, running_stack, unique_name

REPLICAS = 2


@pytest.fixture(scope="package")
def replicas(request):
    """The two-replica stack, started once for the scale suite."""
    with running_stack(request, REPLICAS, "logs-scale") as stack:
        yield stack


@pytest.fixture(scope="package")
def gateway(replicas):
    """A gateway to the first taskboard replica's sidecar (all replicas share the store)."""
    with gateway_of(replicas) as gw:
        yield gw


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class WebUser:
    """One browser over real HTTP: its own cookies; answers are (status, headers, body)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirects())

    def request(self, path: str, data: dict | None = None, base: str | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(f"{base or self.base}{path}", data=body, timeout=30) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode()

    def form_post(self, path: str, data: dict, page: str | None = None, base: str | None = None):
        """POST a form with the CSRF token of the page it came from (``base``: another replica's URL)."""
        status, _, html = self.request(page or path, base=base)
        assert status == 200, f"GET {page or path}: {status}"
        return self.request(path, {"csrf_token": csrf_token(html), **data}, base=base)

    def register(self) -> str:
        name = unique_name("scale")
        password = "correct horse battery"
        status, _, body = self.form_post("/register", {"username": name, "password": password,
                                                       "confirm": password, "timezone": "UTC"})
        assert status == 302, body[:1000]
        return name

    def create_task(self, title: str, base: str | None = None, **fields: str) -> str:
        status, headers, body = self.form_post("/tasks/new", {
            "title": title, "description": "", "status": "pending", "priority": "medium", "tags": "",
            "due_at": "", "remind_at": "", "recurrence": "none", **fields}, base=base)
        assert status == 302, body[:2000]
        return headers["Location"].rsplit("/", 1)[-1]

    def complete(self, task_id: str) -> int:
        """Complete the task at the version its page shows; the answer's status."""
        status, _, html = self.request(f"/tasks/{task_id}")
        if status != 200:
            return status
        version = re.search(r'name="version" value="([^"]*)"', html).group(1)
        token = csrf_token(html)
        return self.request(f"/tasks/{task_id}/complete", {"csrf_token": token, "version": version})[0]
