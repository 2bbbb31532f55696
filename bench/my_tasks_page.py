"""My tasks against a board's list: ``GET /my`` for a person on 100 boards whose "My tasks" index is full
(``MY_TASKS_MAX_BYTES``, the soonest-due open tasks of every board) against ``GET /tasks?board=<id>`` of one
board of 5,000 tasks, on a stack in its production configuration.

/my reads the person's ``my-tasks`` index, their memberships and the inbox head (one bulk read), then the
records of the boards it names (one more): no board index and no task document, however many tasks the
boards hold. So the seeding writes what those two pages read, straight through daprd's state API in the app's
own layouts: 99 shared board records and the person's memberships, the full ``my-tasks`` index spread over the
100 boards, and one board's index of 5,000 rows.

    .venv/bin/python bench/my_tasks_page.py [--tasks 5000] [--pages 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import devstack  # noqa: E402
from bench.board_polls import pct  # noqa: E402
from bench.webclient import register  # noqa: E402
from webapp.boards import model as boards_model  # noqa: E402
from webapp.dapr_gateway.values import encoded_size  # noqa: E402
from webapp.keys import board_key, index_key, memberships_key, my_tasks_key  # noqa: E402
from webapp.my_tasks import entries, index  # noqa: E402
from webapp.tasks.model import TaskFields, new_task  # noqa: E402
from webapp.tasks.rows import Summary  # noqa: E402

BOARDS = 100  # the most a person is on: their personal board and 99 shared ones


async def _save(http, sidecar: str, headers: dict, items: list[dict]) -> None:
    for at in range(0, len(items), 200):
        async with http.post(f"{sidecar}/state/statestore", json=items[at:at + 200], headers=headers) as resp:
            assert resp.status in (200, 204), (resp.status, await resp.text())


async def seed(http, sidecar: str, headers: dict, user_id: str, username: str, tasks: int) -> str:
    """The person's boards and full "My tasks" index, and one board of ``tasks`` tasks; returns that board."""
    now = datetime.now(timezone.utc)
    boards = [boards_model.new_board(f"Board {n:03d}", user_id, username, now) for n in range(BOARDS - 1)]
    items = [{"key": board_key(b["id"]), "value": b} for b in boards]
    items.append({"key": memberships_key(user_id), "value": {"boards": {
        user_id: {"role": "owner", "name": boards_model.PERSONAL_NAME},
        **{b["id"]: {"role": "owner", "name": b["name"]} for b in boards}}}})
    board_ids = [user_id] + [b["id"] for b in boards]
    mine: dict = {"rows": {}}
    n = 0
    while encoded_size(mine) < index.MAX_BYTES:  # until the index is at its bound, as the app would keep it
        due = now + timedelta(hours=(n % 400) - 100) if n % 5 else None
        task = new_task(user_id, TaskFields(title=f"My task number {n} on its board", tags=("bench",), due_at=due),
                        now - timedelta(seconds=n), board_id=board_ids[n % BOARDS])
        mine["rows"][task.id] = entries.live_entry(task)
        n += 1
    mine = entries.bounded(mine, index.MAX_BYTES)
    items.append({"key": my_tasks_key(user_id), "value": mine})
    big = boards[0]["id"]
    ids, rows = [], {}
    for k in range(tasks):
        task = new_task(user_id, TaskFields(title=f"Board task number {k}", tags=("bench",),
                                            due_at=now + timedelta(hours=k % 300) if k % 3 else None),
                        now - timedelta(seconds=k), board_id=big)
        ids.append(task.id)
        rows[task.id] = Summary.of(task).to_row()
    items.append({"key": index_key(big), "value": {"ids": ids, "rows": rows}})
    await _save(http, sidecar, headers, items)
    print(f"seeded: {len(board_ids)} boards, a my-tasks index of {len(mine['rows'])} open tasks "
          f"({encoded_size(mine) / 1024:.0f} KiB, more: {mine.get('more', False)}), one board of {tasks} tasks "
          f"({encoded_size({'ids': ids, 'rows': rows}) / 1024:.0f} KiB)", flush=True)
    return big


async def timed(http, url: str, cookie: str) -> float:
    started = time.perf_counter()
    async with http.get(url, headers={"Cookie": cookie}) as resp:
        await resp.read()
        assert resp.status == 200, (url, resp.status)
    return time.perf_counter() - started


async def measure(base: str, sidecar: str, headers: dict, args) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        person = await register(http, base, f"mine{secrets.token_hex(4)}")
        async with http.get(f"{sidecar}/state/statestore/username:{person.username.lower()}", headers=headers) as r:
            user_id = (await r.json())["user_id"]
        board = await seed(http, sidecar, headers, user_id, person.username, args.tasks)
        pages = {"/my": f"{base}/my", "list": f"{base}/tasks?board={board}"}
        took: dict[str, list[float]] = {name: [] for name in pages}
        for url in pages.values():  # warm both
            for _ in range(3):
                await timed(http, url, person.cookie)
        for _ in range(args.pages):  # interleaved, so both see the same machine load
            for name, url in pages.items():
                took[name].append(await timed(http, url, person.cookie))
    my, listing = took["/my"], took["list"]
    print(f"/my (100 boards, full index): p50 {pct(my, 50) * 1000:.1f} ms, p99 {pct(my, 99) * 1000:.1f} ms; "
          f"list page of one board of {args.tasks} tasks: p50 {pct(listing, 50) * 1000:.1f} ms, "
          f"p99 {pct(listing, 99) * 1000:.1f} ms; ratio of p50s {pct(my, 50) / pct(listing, 50):.2f}x "
          f"(contract: at most 2x)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="taskboard-my-"))
    stack = devstack.Stack(run_dir, devstack.Ports.free(), app_token=secrets.token_urlsafe(16),
                           workers=2, daprd_log_level="warn",
                           app_env={"TASKBOARD_ENV": "production", "GUNICORN_ACCESS_LOG": "0"}, stack="redis")
    stack.start()
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
        sidecar = f"http://127.0.0.1:{stack.ports.apps['taskboard'].http}/v1.0"
        asyncio.run(measure(stack.url(), sidecar, {}, args))
        print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
