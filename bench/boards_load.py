"""Issue 16's board benchmark: a big board's page against its list, and 50 members changing one board at once.

1. A board of ``--tasks`` tasks (1,000) and 20 members: the board page's p50/p99 against the list page of
   the same board (``/tasks?board=<id>``, the list as it is today), ``--pages`` sequential requests each.
2. ``--writers`` members (50, the most a board has) moving cards of one board at once, each ``--moves``
   times: a move reads the task's version (its page), posts the move at it, and on 409 (someone moved it
   meanwhile) reads again and retries. Afterwards every task's revision must equal 1 + the moves answered
   302 on it, and its row in the board's index (read through the API's board listing) must carry the same revision:
   anything else is a lost update. Reports client retries (409), 503s, the move's p50/p99, and the server's
   optimistic-concurrency retries (``taskboard_conflict_retries_total`` from the metrics port).

Both write paths of a shared board: ``--write-path actor`` (default: each board's rows in its actor's turns) or
``optimistic`` (every request writes its row under the index's ETag, ``TASKBOARD_BOARD_ACTORS=0``).

    .venv/bin/python bench/boards_load.py [--tasks 1000] [--writers 50] [--moves 10] [--write-path actor]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import devstack  # noqa: E402
from bench.board_polls import _post, pct  # noqa: E402
from bench.webclient import WebUser, api_token, register  # noqa: E402

VERSION_RE = re.compile(r'name="version" value="([^"]*)"')
FORM = {"description": "", "status": "pending", "priority": "medium", "tags": "bench", "due_at": "",
        "remind_at": "", "recurrence": "none", "estimate": "", "assignee": ""}


async def board_of(http, base: str, members: int, run: str) -> tuple[str, list[WebUser]]:
    people = list(await asyncio.gather(*(register(http, base, f"bb{run}{n}") for n in range(members))))
    return await share_board(http, base, people, f"Bench {run}"), people


async def share_board(http, base: str, people: list[WebUser], name: str) -> str:
    """A new board of ``people[0]`` with every other person an editor; its id."""
    owner = people[0]
    resp = await _post(http, base, owner, "/boards", {"name": name})
    board_id = resp.headers["Location"].rsplit("/", 1)[-1]
    for person in people[1:]:
        async with http.get(f"{base}/boards/{board_id}/members", headers=owner.headers()) as page:
            version = VERSION_RE.search(await page.text()).group(1)
        resp = await _post(http, base, owner, f"/boards/{board_id}/members",
                           {"username": person.username, "role": "editor", "version": version})
        assert resp.status == 302, resp.status
    return board_id


async def seed(http, base: str, owner: WebUser, board_id: str, count: int, concurrency: int = 8) -> list[str]:
    ids: list[str] = []
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            resp = await _post(http, base, owner, f"/tasks/new?board={board_id}", {**FORM, "title": f"Card {n}"})
            if resp.status == 302:
                ids.append(resp.headers["Location"].rsplit("/", 1)[-1])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def timed_gets(http, url: str, user: WebUser, n: int) -> list[float]:
    took = []
    for _ in range(n):
        started = time.perf_counter()
        async with http.get(url, headers=user.headers()) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        took.append(time.perf_counter() - started)
    return took


async def page_vs_list(http, base: str, args, run: str) -> None:
    board_id, people = await board_of(http, base, 20, run)
    started = time.monotonic()
    ids = await seed(http, base, people[0], board_id, args.tasks)
    print(f"seeded {len(ids)} tasks on a board of 20 members in {time.monotonic() - started:.0f} s", flush=True)
    viewer = people[1]
    await timed_gets(http, f"{base}/boards/{board_id}", viewer, 3)  # warm (rows rebuilt if any were missing)
    board = await timed_gets(http, f"{base}/boards/{board_id}", viewer, args.pages)
    listing = await timed_gets(http, f"{base}/tasks?board={board_id}", viewer, args.pages)
    print(f"board page ({len(ids)} tasks, 20 members): p50 {pct(board, 50) * 1000:.0f} ms, "
          f"p99 {pct(board, 99) * 1000:.0f} ms; its list page: p50 {pct(listing, 50) * 1000:.0f} ms, "
          f"p99 {pct(listing, 99) * 1000:.0f} ms; ratio of p50s {pct(board, 50) / pct(listing, 50):.2f}x",
          flush=True)


def conflict_retries(metrics_url: str) -> Counter:
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    if os.environ.get("BENCH_DEBUG"):
        print("\n".join(line for line in text.splitlines() if "conflict" in line), flush=True)
    found = Counter()
    for loop, outcome, value in re.findall(
            r'taskboard_conflict_retries_total\{loop="([^"]+)",outcome="([^"]+)"\} ([0-9.e+]+)', text):
        found[f"{loop}: {outcome}"] += float(value)
    for outcome, value in re.findall(r'taskboard_board_actor_calls_total\{outcome="([^"]+)"\} ([0-9.e+]+)', text):
        found[f"board actor: {outcome}"] += float(value)
    return found


async def mismatches(http, base: str, token: str, board_id: str, ids: list[str], moved: Counter) -> list[str]:
    """Tasks whose revision is not 1 + their stored moves, or whose row in the board's index lags behind.

    Reads the rows through the API's board listing (every page), not the board page, which shows a column's
    first cards only.
    """
    bearer = {"Authorization": f"Bearer {token}"}
    rows: dict[str, int] = {}
    page = pages = 1
    while page <= pages:
        async with http.get(f"{base}/api/v1/boards/{board_id}/tasks?per_page=100&page={page}",
                            headers=bearer) as resp:
            body = await resp.json()
        rows.update({item["id"]: int(item["version"]) for item in body["items"]})
        pages, page = body["pages"], page + 1
    found = []
    for task_id in ids:
        async with http.get(f"{base}/api/v1/tasks/{task_id}", headers=bearer) as resp:
            revision = int((await resp.json())["version"])
        row_revision = rows.get(task_id, -1)
        if revision != 1 + moved[task_id] or row_revision != revision:
            found.append(f"task {task_id} revision {revision}, moves stored {moved[task_id]}, row {row_revision}")
    return found


async def member_moves(http, base: str, user: WebUser, ids: list[str], moves: int, moved: Counter,
                       took: list[float], outcomes: Counter, rng: random.Random | None = None) -> None:
    """``moves`` moves of random tasks of ``ids`` by ``user``: read the task page for its version, post the move,
    on 409 (or 503) read again and retry. Counts stored moves per task, each move's seconds and every answer.

    Raises ``RuntimeError`` when a move is answered anything but 302, 409 or 503.
    """
    rng = rng or random
    for _ in range(moves):
        task_id = rng.choice(ids)
        started = time.perf_counter()
        while True:
            async with http.get(f"{base}/tasks/{task_id}", headers=user.headers()) as page:
                html = await page.text()
            version = VERSION_RE.search(html).group(1)
            status = "in_progress" if "pill status-pending" in html else "pending"
            resp = await _post(http, base, user, f"/tasks/{task_id}/move", {"version": version, "status": status})
            outcomes[resp.status] += 1
            if resp.status == 302:
                moved[task_id] += 1
                break
            if resp.status not in (409, 503):
                raise RuntimeError(f"move of {task_id} by {user.username} answered {resp.status}")
        took.append(time.perf_counter() - started)


async def writers(http, base: str, args, run: str, metrics_url: str) -> None:
    board_id, people = await board_of(http, base, args.writers, run + "w")
    ids = await seed(http, base, people[0], board_id, args.writers * 2)
    before = conflict_retries(metrics_url)
    moved: Counter = Counter()
    took: list[float] = []
    outcomes: Counter = Counter()

    started = time.monotonic()
    await asyncio.gather(*(member_moves(http, base, user, ids, args.moves, moved, took, outcomes)
                           for user in people))
    elapsed = time.monotonic() - started
    after = conflict_retries(metrics_url)
    token = await api_token(http, base, people[0])
    mismatched = await mismatches(http, base, token, board_id, ids, moved)
    at_end, settled_after = len(mismatched), 0.0
    while mismatched and settled_after < 30:  # rows the change could not update: the task events repair them
        await asyncio.sleep(1)
        settled_after += 1
        mismatched = await mismatches(http, base, token, board_id, ids, moved)
    for line in mismatched:
        print(f"  still stale: {line}", flush=True)
    lost = len(mismatched)
    server = {k: int(after[k] - before.get(k, 0)) for k in after if after[k] - before.get(k, 0)}
    print(f"{len(people)} members x {args.moves} moves on one board of {len(ids)} tasks in {elapsed:.1f} s: "
          f"{sum(moved.values())} moves stored, lost updates {lost} (index rows behind when the writers stopped: "
          f"{at_end}, all repaired by their events {settled_after:.0f} s later), answers {dict(outcomes)} "
          f"(409: a member's re-read and retry), move p50 {pct(took, 50) * 1000:.0f} ms, "
          f"p99 {pct(took, 99) * 1000:.0f} ms; server-side conflict retries and board actor calls {server}",
          flush=True)


async def measure(base: str, args, metrics_url: str) -> None:
    run = secrets.token_hex(3)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as http:
        if args.tasks:
            await page_vs_list(http, base, args, run)
        if args.writers:
            await writers(http, base, args, run, metrics_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--write-path", choices=("actor", "optimistic"), default="actor",
                        help="how a shared board's rows are written (the app's BOARD_ACTORS setting)")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="taskboard-boards-"))
    stack = devstack.Stack(run_dir, devstack.Ports.free(), app_token=secrets.token_urlsafe(16), workers=2,
                           app_env={"TASKBOARD_LOG_FORMAT": "json",
                                    "TASKBOARD_BOARD_ACTORS": "1" if args.write_path == "actor" else "0"})
    stack.start()
    try:
        print(f"write path: {args.write_path}; load average before: {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} cores", flush=True)
        asyncio.run(measure(stack.url(), args, stack.metrics_url()))
        print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
