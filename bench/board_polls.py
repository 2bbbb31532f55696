"""How many open board pages (tabs) one gunicorn worker serves: polls of GET /boards/<id>/changes.

An open board or task page asks every ``--period`` seconds (static/changes.js: 1.5 s) with the ETag it
holds; the answer is 304 unless someone changed the board. Each poll is a short request (one sidecar
read), so no worker thread is held between polls. This starts a stack with ONE web worker (gthread,
8 threads), a board of ``--members`` members, and measures:

1. saturation: ``--clients`` pollers asking back to back (If-None-Match) for ``--seconds``: polls/s served,
   p50/p99, and so the tabs one worker serves at the page's period (polls/s x period);
2. tabs: ``--tabs`` tabs polling every ``--period`` s (random phase) while a member moves a card every
   second: poll p50/p99 and how long a move takes to reach the tabs (seconds from the move's answer to
   each tab's first poll showing it: p50/p99).

    .venv/bin/python bench/board_polls.py [--clients 32] [--tabs 300] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import devstack  # noqa: E402
from bench.webclient import WebUser, register  # noqa: E402


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else (values[0] if values else 0.0)


async def _post(http, base: str, user: WebUser, path: str, data: dict) -> aiohttp.ClientResponse:
    async with http.post(f"{base}{path}", data={"csrf_token": user.csrf, **data}, headers=user.headers(),
                         allow_redirects=False) as resp:
        await resp.read()
        return resp


async def make_board(http, base: str, members: int) -> tuple[str, list[WebUser], str]:
    """A board with ``members`` members (the owner and editors) and one task; returns (board, people, task)."""
    run = secrets.token_hex(3)
    people = [await register(http, base, f"poll{run}{n}") for n in range(members)]
    owner = people[0]
    resp = await _post(http, base, owner, "/boards", {"name": f"Polled {run}"})
    board_id = resp.headers["Location"].rsplit("/", 1)[-1]
    for person in people[1:]:
        async with http.get(f"{base}/boards/{board_id}/members", headers=owner.headers()) as page:
            version = re.search(r'name="version" value="([^"]*)"', await page.text()).group(1)
        resp = await _post(http, base, owner, f"/boards/{board_id}/members",
                           {"username": person.username, "role": "editor", "version": version})
        assert resp.status == 302, resp.status
    form = {"title": "Polled card", "description": "", "status": "pending", "priority": "medium", "tags": "",
            "due_at": "", "remind_at": "", "recurrence": "none", "estimate": "", "assignee": ""}
    resp = await _post(http, base, owner, f"/tasks/new?board={board_id}", form)
    return board_id, people, resp.headers["Location"].rsplit("/", 1)[-1]


async def poll(http, url: str, user: WebUser, etag: str | None) -> tuple[int, str | None, dict | None, float]:
    started = time.perf_counter()
    headers = {**user.headers(), **({"If-None-Match": etag} if etag else {})}
    async with http.get(url, headers=headers, allow_redirects=False) as resp:
        body = await resp.json() if resp.status == 200 else None
        return resp.status, resp.headers.get("ETag", etag), body, time.perf_counter() - started


async def saturate(http, url: str, people: list[WebUser], clients: int, seconds: float) -> dict:
    """Back-to-back conditional polls from ``clients`` pollers: what one worker can answer."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def poller(n: int) -> None:
        user, etag = people[n % len(people)], None
        while time.monotonic() < deadline:
            status, etag, _, took = await poll(http, url, user, etag)
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(took)

    started = time.monotonic()
    await asyncio.gather(*(poller(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    return {"polls": len(latencies), "per_second": len(latencies) / elapsed, "statuses": statuses,
            "p50_ms": pct(latencies, 50) * 1000, "p99_ms": pct(latencies, 99) * 1000}


async def tabs_with_moves(http, base: str, board_id: str, task_id: str, people: list[WebUser], tabs: int,
                          period: float, seconds: float) -> dict:
    """``tabs`` open pages polling every ``period`` s while a member moves the card every second."""
    url = f"{base}/boards/{board_id}/changes"
    latencies: list[float] = []
    seen_after: list[float] = []
    moved_at: dict[int, float] = {}  # feed seq -> when the move was answered (seq known once a tab sees it)
    moves: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def tab(n: int) -> None:
        user = people[1 + n % (len(people) - 1)]  # the mover (people[0]) has no tab: the others watch
        _, etag, body, _ = await poll(http, url, user, None)
        seen = body["seq"] if body else 0
        await asyncio.sleep(random.uniform(0, period))
        while time.monotonic() < deadline:
            status, etag, body, took = await poll(http, url, user, etag)
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(took)
            now = time.monotonic()
            for item in (body or {}).get("items", []):
                if item["seq"] > seen and item["seq"] in moved_at:
                    seen_after.append(now - moved_at[item["seq"]])
            seen = max([seen] + [i["seq"] for i in (body or {}).get("items", [])])
            await asyncio.sleep(period)

    async def mover() -> None:
        owner, statuses_cycle = people[0], ("in_progress", "pending")
        await asyncio.sleep(period)
        n = 0
        while time.monotonic() < deadline - 2 * period:  # every move has time to reach every tab
            async with http.get(f"{base}/tasks/{task_id}", headers=owner.headers()) as page:
                version = re.search(r'name="version" value="([^"]*)"', await page.text()).group(1)
            resp = await _post(http, base, owner, f"/tasks/{task_id}/move",
                               {"version": version, "status": statuses_cycle[n % 2]})
            if resp.status == 302:
                moves.append(time.monotonic())
                # Each move is one event, so one feed entry: its seq is the count of entries so far + 1
                # (the board's creation and its task took seq 1; moves follow in order).
                moved_at[len(moves) + 1] = moves[-1]
            n += 1
            await asyncio.sleep(1.0)

    await asyncio.gather(mover(), *(tab(n) for n in range(tabs)))
    return {"tabs": tabs, "polls": len(latencies), "statuses": statuses, "moves": len(moves),
            "p50_ms": pct(latencies, 50) * 1000, "p99_ms": pct(latencies, 99) * 1000,
            "seen_p50_s": pct(seen_after, 50), "seen_p99_s": pct(seen_after, 99), "sightings": len(seen_after)}


async def measure(base: str, args) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        board_id, people, task_id = await make_board(http, base, args.members)
        url = f"{base}/boards/{board_id}/changes"
        await saturate(http, url, people, 4, 2.0)  # warm up
        sat = await saturate(http, url, people, args.clients, args.seconds)
        print(f"saturation, 1 worker x 8 threads, {args.clients} back-to-back pollers, {args.seconds:.0f} s: "
              f"{sat['per_second']:.0f} polls/s (statuses {sat['statuses']}), p50 {sat['p50_ms']:.1f} ms, "
              f"p99 {sat['p99_ms']:.1f} ms -> {sat['per_second'] * args.period:.0f} open tabs at one poll "
              f"every {args.period} s", flush=True)
        live = await tabs_with_moves(http, base, board_id, task_id, people, args.tabs, args.period, args.seconds)
        print(f"{live['tabs']} tabs polling every {args.period} s for {args.seconds:.0f} s with a move a second "
              f"({live['moves']} moves): {live['polls']} polls {live['statuses']}, p50 {live['p50_ms']:.1f} ms, "
              f"p99 {live['p99_ms']:.1f} ms; a move reached the tabs in p50 {live['seen_p50_s']:.2f} s, "
              f"p99 {live['seen_p99_s']:.2f} s ({live['sightings']} sightings)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--tabs", type=int, default=300)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--period", type=float, default=1.5)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="taskboard-polls-"))
    stack = devstack.Stack(run_dir, devstack.Ports.free(), app_token=secrets.token_urlsafe(16), workers=1,
                           app_env={"TASKBOARD_LOG_FORMAT": "json"})
    stack.start()
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
        asyncio.run(measure(stack.url(), args))
        print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
