"""What the growth benchmark measures at each size: registration, the list page, background work per hour."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import aiohttp
from werkzeug.security import generate_password_hash

import loadgen
import webclient
from common import say
from growth_seed import SEED_PASSWORD, seeded_name
from webapp import background, keys
from webapp.background import overdue
from webapp.tasks.model import Task
from webapp.tasks.rows import Summary

CRONS_PER_HOUR = 12  # the cron binding: @every 5m
RELAYS_PER_HOUR = 360  # the relay binding: @every 10s
NO_TIMEOUT = aiohttp.ClientTimeout(total=3600)


def pcts(values: list[float]) -> dict:
    values = sorted(values)
    return {q: round(loadgen.percentile(values, p), 1) for q, p in (("p50", 50), ("p90", 90), ("p99", 99))}


async def registration(g, size: int, n: int = 50, warmup: int = 5) -> dict:
    """POST /register through the form, sequential: the POST's latency (GET of the form not counted)."""
    times = []
    async with aiohttp.ClientSession() as http:
        for i in range(warmup + n):
            async with http.get(f"{g.app_url}/register") as resp:
                html = await resp.text()
                cookie = webclient._session_cookie(resp)
            name = f"r{size}x{i}x{uuid.uuid4().hex[:6]}"
            form = {"csrf_token": webclient.csrf_token(html), "username": name, "password": webclient.PASSWORD,
                    "confirm": webclient.PASSWORD, "timezone": "UTC"}
            t0 = time.perf_counter()
            async with http.post(f"{g.app_url}/register", data=form, headers={"Cookie": cookie},
                                 allow_redirects=False) as resp:
                await resp.read()
                if resp.status != 302:
                    raise RuntimeError(f"POST /register: HTTP {resp.status}")
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
    hashes = []
    for _ in range(5):
        t0 = time.perf_counter()
        generate_password_hash(webclient.PASSWORD)
        hashes.append((time.perf_counter() - t0) * 1000)
    res = {"samples": n, "warmup": warmup, **pcts(times), "password_hash_ms": round(sorted(hashes)[2], 1)}
    say(f"  registration: {res}")
    return res


async def sign_in(http, base: str, username: str, password: str) -> webclient.WebUser:
    async with http.get(f"{base}/login") as resp:
        html = await resp.text()
        cookie = webclient._session_cookie(resp)
    form = {"csrf_token": webclient.csrf_token(html), "username": username, "password": password}
    async with http.post(f"{base}/login", data=form, headers={"Cookie": cookie}, allow_redirects=False) as resp:
        await resp.read()
        if resp.status != 302:
            raise RuntimeError(f"POST /login as {username}: HTTP {resp.status}")
        cookie = webclient._session_cookie(resp, cookie)
    return webclient.WebUser(username, cookie, "")


async def list_page(g, n: int = 50) -> dict:
    """GET /tasks of a seeded user (5 tasks), signed in with the seeded password."""
    times = []
    async with aiohttp.ClientSession() as http:
        user = await sign_in(http, g.app_url, seeded_name(1), SEED_PASSWORD)
        for i in range(5 + n):
            t0 = time.perf_counter()
            err = await webclient.list_page(http, g.app_url, user, expect="Seeded task")
            if err:
                raise RuntimeError(f"GET /tasks of a seeded user: {err}")
            if i >= 5:
                times.append((time.perf_counter() - t0) * 1000)
    res = {"samples": n, "user": seeded_name(1), **pcts(times)}
    say(f"  list page: {res}")
    return res


def app_calls(before: dict, after: dict) -> dict:
    """The apps' own sidecar calls (the SDK's gRPC; the benchmark only uses HTTP), by method."""
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return {k: v for k, v in delta.items() if v and "grpc " in k}


class Window:
    """Sidecar calls and CPU-seconds of the stack between start and stop."""

    def __init__(self, g):
        self.g = g

    def __enter__(self):
        self.calls, self.cpu, self.t0 = self.g.scrape(), self.g.stack_cpu(), time.monotonic()
        return self

    def __exit__(self, *exc):
        by_method = app_calls(self.calls, self.g.scrape())
        self.result = {"sidecar_calls": int(sum(by_method.values())), "by_method": by_method,
                       "cpu_s": round(self.g.stack_cpu() - self.cpu, 2),
                       "wall_s": round(time.monotonic() - self.t0, 1)}


async def post_binding(http, g, name: str) -> dict:
    async with http.post(f"{g.app_url}/{name}", headers={"dapr-api-token": g.app_token}, json={}) as resp:
        body = await resp.json(content_type=None)
        if resp.status != 200:
            raise RuntimeError(f"POST /{name}: HTTP {resp.status}: {body}")
        return body


async def background_hour(g, size: int, checkpoint=lambda: None) -> dict:
    """One hour of the bindings with nothing due: 360 relays and 12 sweep runs (leases deleted, as the clock would).

    Also the 11 `/cron` a second replica's binding adds in that hour (each skipped under the lease).
    ``checkpoint`` is called after each part.
    """
    out = {}
    async with aiohttp.ClientSession(timeout=NO_TIMEOUT) as http:
        with Window(g) as w:
            for _ in range(RELAYS_PER_HOUR):
                g.delete_lease("relay")
                await post_binding(http, g, "relay")
        out["relay_hour"] = w.result
        say(f"  {RELAYS_PER_HOUR} relays (lease deleted before each): {w.result}")
        await g.hold_lease("sweep", background.PERIODIC["cron"].lease_seconds)
        with Window(g) as w:
            for _ in range(CRONS_PER_HOUR - 1):
                body = await post_binding(http, g, "cron")
                if body.get("leased"):
                    raise RuntimeError(f"a /cron under the lease ran anyway: {body}")
        out["skipped_sweeps_11"] = w.result
        say(f"  {CRONS_PER_HOUR - 1} /cron under the lease (skipped): {w.result}")
        checkpoint()
        runs, users = [], 0
        with Window(g) as hour:
            for _ in range(CRONS_PER_HOUR):
                g.delete_lease("sweep")
                with Window(g) as w:
                    body = await post_binding(http, g, "cron")
                runs.append({**w.result, "response": body})
                users += body.get("users", 0)
        out["sweep_runs"] = runs
        out["sweep_hour"] = hour.result
        say(f"  {CRONS_PER_HOUR} sweep runs at {size:,} users: {hour.result}, {users:,} users walked")
    relay, sweeps = out["relay_hour"], out["sweep_hour"]
    out["hour"] = {"sidecar_calls": relay["sidecar_calls"] + sweeps["sidecar_calls"],
                   "cpu_s": round(relay["cpu_s"] + sweeps["cpu_s"], 2)}
    out["sweep_users_per_hour"] = users
    out["sweep_round_hours"] = round(size / max(1, users / CRONS_PER_HOUR) * 5 / 60, 2)  # a run every 5 min
    say(f"  hour, nothing due: {out['hour']}; the walk comes round every {out['sweep_round_hours']} h")
    return out


async def jobs_due(g, user_ids: list[str], n_jobs: int = 100) -> dict:
    """Make one task of ``n_jobs`` seeded users overdue, schedule its overdue job, count what the firings cost."""
    now = datetime.now(timezone.utc)
    users = user_ids[:n_jobs]
    fire_at = (now + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    st, markers = f"{g.sidecar}/state/statestore", []
    async with aiohttp.ClientSession(timeout=NO_TIMEOUT) as http:
        for uid in users:
            async with http.get(f"{st}/tasks-of:{uid}", headers=g.headers) as resp:
                index = await resp.json()
            tid = index["ids"][0]
            async with http.get(f"{st}/task:{tid}", headers=g.headers) as resp:
                doc = await resp.json()
            task = Task.from_dict(doc)
            task = dataclasses.replace(task, due_at=now - timedelta(minutes=5), updated_at=now,
                                       revision=task.revision + 1)
            index["rows"][tid] = Summary.of(task).to_row()
            async with http.post(st, headers=g.headers, json=[
                    {"key": f"task:{tid}", "value": {**task.to_dict(), "outbox": []}},
                    {"key": f"tasks-of:{uid}", "value": index}]) as resp:
                assert resp.status in (200, 204), await resp.text()
            async with http.post(f"{g.sidecar}-alpha1/jobs/{overdue.job_name(tid)}", headers=g.headers,
                                 json={"dueTime": fire_at, "data": overdue.job_data(uid, task)}) as resp:
                assert resp.status in (200, 204), await resp.text()
            markers.append(keys.overdue_marker_key(tid))
        say(f"  {len(users)} overdue jobs scheduled at {fire_at}")
        with Window(g) as w:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and g.redis_count(markers) < len(markers):
                await asyncio.sleep(0.5)
            fired = g.redis_count(markers)
            await g.drain()
    per_job = round(w.result["sidecar_calls"] / max(1, fired), 2)
    res = {"jobs": len(users), "fired": fired, **w.result, "calls_per_job": per_job,
           "cpu_s_per_job": round(w.result["cpu_s"] / max(1, fired), 3)}
    say(f"  {fired}/{len(users)} overdue jobs fired: {w.result['sidecar_calls']} calls ({per_job}/job), "
        f"{w.result['cpu_s']} CPU-s; {json.dumps(w.result['by_method'])}")
    return res
