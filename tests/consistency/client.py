"""One user of the workload over real HTTP: a browser (cookies, forms with their CSRF token) and an API token.

Answers are (status, headers, body); a request that got no answer (refused, reset, timed out) is status 0.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from tests.conftest import CSRF_RE, unique_name

PASSWORD = "correct horse battery"
TIMEOUT = 20
NOT_SENT = 499  # a form whose page could not be read: a refusal (4xx), the request never left


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _form_token(html: str) -> str | None:
    match = CSRF_RE.search(html)
    return (match.group(1) or match.group(2)) if match else None


class User:
    """A registered user: ``page``/``form`` drive the web pages, ``api`` the JSON API with the user's token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirects())
        self.token = ""
        self.id = ""
        self.username = ""

    def _send(self, opener, request: urllib.request.Request):
        try:
            with opener.open(request, timeout=TIMEOUT) as resp:
                return resp.status, resp.headers, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as err:  # no answer: the outcome is unknown
            return 0, {}, str(err)

    def page(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        return self._send(self.opener, urllib.request.Request(self.base + path, data=body))

    def form(self, path: str, data: dict, page: str | None = None):
        """POST a form as a browser does, with the CSRF token of the page it came from (status NOT_SENT if that
        page could not be read: nothing was sent, so nothing can have happened)."""
        status, headers, html = self.page(page or path)
        token = _form_token(html) if status == 200 else None
        if token is None:
            return NOT_SENT, headers, f"no form at {page or path}: {status}"
        return self.page(path, {"csrf_token": token, **data})

    def api(self, method: str, path: str, body=None, if_match: str | None = None):
        """(status, headers, JSON body or None)."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if if_match is not None:
            headers["If-Match"] = if_match if if_match == "*" else f'"{if_match}"'
        data = json.dumps(body).encode() if body is not None else None
        status, hdrs, raw = self._send(urllib.request.build_opener(),
                                       urllib.request.Request(self.base + "/api/v1" + path, data=data,
                                                              method=method, headers=headers))
        try:
            parsed = json.loads(raw) if raw and status else None
        except ValueError:
            parsed = None
        return status, hdrs, parsed

    def sign_up(self) -> "User":
        """Register, create an API token and learn the user's id (its personal board's); ``AssertionError``
        if any step fails (the stack is not usable)."""
        self.username = unique_name("cc")
        status, _, body = self.form("/register", {"username": self.username, "password": PASSWORD,
                                                  "confirm": PASSWORD, "timezone": "UTC"})
        assert status == 302, f"register: {status} {body[:300]}"
        status, headers, body = self.form("/settings", {"name": "consistency"})
        assert status == 302, f"token: {status} {body[:300]}"
        page = self.page(urllib.parse.urlsplit(headers["Location"]).path or "/settings")[2]
        self.token = re.search(r'id="new-token">([^<]+)<', page).group(1)
        status, _, boards = self.api("GET", "/boards")
        assert status == 200, f"boards: {status}"
        self.id = next(b["id"] for b in boards["items"] if b["personal"])
        return self
