"""Driving Taskboard over HTTP the way a browser does: session cookie, CSRF token, form posts.

Only the public routes of SPEC.md are used (register, /tasks, /tasks/new,
/tasks/<id>/complete), so seeding and load do not depend on webapp internals.
The session cookie is kept by hand: the stack runs with ENV=production, where
the cookie is ``Secure`` and a cookie jar would not send it over plain HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


class AppError(RuntimeError):
    pass


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    if not match:
        raise AppError("page has no CSRF token")
    return match.group(1) or match.group(2)


@dataclass
class WebUser:
    username: str
    cookie: str  # "session=..."
    csrf: str
    user_id: str = ""

    def headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie}


def _session_cookie(resp: aiohttp.ClientResponse, current: str = "") -> str:
    morsel = resp.cookies.get("session")
    return f"session={morsel.value}" if morsel is not None else current


async def register(http: aiohttp.ClientSession, base: str, username: str) -> WebUser:
    """Register ``username`` through the form and return its signed-in session."""
    async with http.get(f"{base}/register") as resp:
        html = await resp.text()
        cookie = _session_cookie(resp)
        if resp.status != 200:
            raise AppError(f"GET /register: HTTP {resp.status}")
    form = {"csrf_token": csrf_token(html), "username": username, "password": PASSWORD,
            "confirm": PASSWORD, "timezone": "UTC"}
    async with http.post(f"{base}/register", data=form, headers={"Cookie": cookie}, allow_redirects=False) as resp:
        body = await resp.text()
        if resp.status != 302:
            raise AppError(f"POST /register: HTTP {resp.status}: {body[:300]}")
        cookie = _session_cookie(resp, cookie)
    # The signed-in session's CSRF token, from a page that has a form.
    async with http.get(f"{base}/tasks/new", headers={"Cookie": cookie}, allow_redirects=False) as resp:
        html = await resp.text()
        if resp.status != 200:
            raise AppError(f"GET /tasks/new after registering: HTTP {resp.status}")
        cookie = _session_cookie(resp, cookie)
    return WebUser(username, cookie, csrf_token(html))


async def api_token(http: aiohttp.ClientSession, base: str, user: WebUser, name: str = "bench") -> str:
    """A new personal access token of ``user``, created on Settings (shown once, on the page it leads to)."""
    async with http.post(f"{base}/settings", data={"csrf_token": user.csrf, "name": name},
                         headers=user.headers(), allow_redirects=False) as resp:
        if resp.status != 302:
            raise AppError(f"token not created: {resp.status}")
        location = resp.headers["Location"]
        cookie = _session_cookie(resp, user.cookie)  # the token rides to the page it leads to in the session
    async with http.get(f"{base}{location}" if location.startswith("/") else location,
                        headers={"Cookie": cookie}) as resp:
        found = re.search(r'id="new-token">([^<]+)<', await resp.text())
    if not found:
        raise AppError("the new token was not shown")
    return found.group(1)


def task_form(user: WebUser, title: str) -> dict[str, str]:
    return {"csrf_token": user.csrf, "title": title, "description": "", "status": "pending",
            "priority": "medium", "tags": "", "due_at": "", "remind_at": "", "recurrence": "none"}


async def create_task(http: aiohttp.ClientSession, base: str, user: WebUser, title: str) -> tuple[str | None, str | None]:
    """POST /tasks/new; returns (task id, None) or (None, error label)."""
    async with http.post(f"{base}/tasks/new", data=task_form(user, title), headers=user.headers(),
                         allow_redirects=False) as resp:
        await resp.read()
        if resp.status != 302:
            return None, f"HTTP {resp.status}"
        return resp.headers.get("Location", "").rsplit("/", 1)[-1], None


async def complete_task(http: aiohttp.ClientSession, base: str, user: WebUser, task_id: str,
                        version: str) -> str | None:
    """POST /tasks/<id>/complete with the version it was read at; None on success (302 to the task)."""
    async with http.post(f"{base}/tasks/{task_id}/complete", data={"csrf_token": user.csrf, "version": version},
                         headers=user.headers(), allow_redirects=False) as resp:
        await resp.read()
        if resp.status != 302:
            return f"HTTP {resp.status}"
        return None


async def list_page(http: aiohttp.ClientSession, base: str, user: WebUser, expect: str | None = None) -> str | None:
    """GET /tasks; None on success."""
    async with http.get(f"{base}/tasks", headers=user.headers(), allow_redirects=False) as resp:
        body = await resp.read()
        if resp.status != 200:
            return f"HTTP {resp.status}"
        if expect is not None and expect.encode() not in body:
            return "page without its tasks"
        return None
