"""The web app's own CPU per request: the taskboard gunicorn workers' CPU time (utime + stime from /proc)
over a run of requests, divided by the requests, beside the floor of this stack (bench/floor.py).

Each scenario runs ROUNDS rounds of closed-loop requests (CONCURRENCY clients, ROUND_SECONDS or ROUND_OPS at
most); a round's figure is the workers' CPU delta ÷ its requests, and the scenario's is the median round. Writes
(create, complete) wait until their events were handled before the CPU is read, so the app's event handlers
(which run in the same workers) are in the figure. Only the workers count: not daprd, Redis, the master.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import loadgen
import procstats
import profiling
import webclient
from common import N_CREATE_USERS, IndexCounter, say

ROUNDS = 3
ROUND_SECONDS = 3.0
ROUND_OPS = 400
CONCURRENCY = 4
PROFILE_SECONDS = 4.0
FLOOR = "floor"
# name → what it measures (results.md lists them in this order)
SCENARIOS = {
    "page-list10": "GET /tasks of a user with 10 tasks",
    "page-list1000": "GET /tasks of a user with 1,000 tasks",
    "page-board": "GET /boards/<id>: the board page of a user with 100 tasks",
    "page-task": "GET /tasks/<id>: a task's page",
    "page-create": f"POST /tasks/new (form, CSRF; {N_CREATE_USERS} users), with its event handling",
    "page-complete": "POST /tasks/<id>/complete (form, CSRF, version), with the app's event handling",
    "changes-304": "GET /boards/<id>/changes with the current ETag: 304",
    "api-get": "GET /api/v1/tasks/<id> with a personal access token",
    FLOOR: "bench/floor.py: a minimal Flask app, same gunicorn settings, the list page's one sidecar call, "
           "a page as large as page-list10's from one precompiled template",
}


def worker_cpu(groups: procstats.Groups, group: str) -> float:
    """CPU seconds of the group's processes except its root (gunicorn's master)."""
    root = groups.roots[group]
    return procstats.cpu_seconds([p for p in groups.pids()[group] if p != root])


async def closed_round(op, start: int, max_ops: int, seconds: float) -> tuple[int, list[str]]:
    """Up to ``max_ops`` operations back to back from CONCURRENCY clients for at most ``seconds``."""
    counter, errors, done = IndexCounter(), [], [0]
    deadline = time.monotonic() + seconds
    async with loadgen.new_session(CONCURRENCY, timeout=30.0) as http:
        async def client():
            while time.monotonic() < deadline:
                i = counter.take(1)
                if i >= max_ops:
                    return
                try:
                    err = await op(http, start + i)
                except Exception as exc:  # noqa: BLE001 - a dropped connection is an error of this request
                    err = f"{type(exc).__name__}: {exc}"[:120]
                done[0] += 1
                if err:
                    errors.append(err)
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return done[0], errors


class AppCpu:
    """App CPU per request of a started ``Bench`` (a mixin of it)."""

    async def app_cpu_scenarios(self) -> None:
        """Every scenario of SCENARIOS (the floor only where the floor app runs); results under ``app_cpu``."""
        ops = await self.app_cpu_ops()
        out = self.results.setdefault("app_cpu", {"rounds": ROUNDS, "concurrency": CONCURRENCY, "scenarios": {}})
        for name, (op, group, budget, writes) in ops.items():
            if callable(budget):  # the completes: as many as the creates made, at the versions they are at
                self.app_cpu_versions_into.update(await self.app_cpu_versions())
                budget = budget()
            await self.guard(self.app_cpu_scenario(name, op, group, budget, writes, out["scenarios"]))
        self.note_memory()

    async def app_cpu_scenario(self, name, op, group, budget, writes, out) -> None:
        say(f"app CPU: {name}: {SCENARIOS[name]}")
        counter, rounds, errors = IndexCounter(), [], []
        for _ in range(ROUNDS):
            ops_allowed = min(ROUND_OPS, budget - counter.value)
            if ops_allowed <= 0:
                break
            cpu0 = worker_cpu(self.groups, group)
            n, errs = await closed_round(op, counter.take(0), ops_allowed, ROUND_SECONDS)
            counter.take(n)
            if writes:
                await self.drain(f"app CPU {name}")
            cpu1 = worker_cpu(self.groups, group)
            errors += errs
            if n:
                rounds.append({"requests": n, "cpu_s": round(cpu1 - cpu0, 3),
                               "ms_per_request": round(1000 * (cpu1 - cpu0) / n, 3)})
        entry = {"title": SCENARIOS[name], "rounds": rounds, "errors": len(errors),
                 "error_kinds": sorted(set(errors))[:5],
                 "ms_per_request": statistics.median(r["ms_per_request"] for r in rounds) if rounds else None}
        out[name] = entry
        say(f"  {entry['ms_per_request']} ms of app CPU per request (rounds: "
            + ", ".join(f"{r['ms_per_request']} ms × {r['requests']}" for r in rounds) + ")"
            + (f"; errors {len(errors)} {entry['error_kinds']}" if errors else ""))
        if errors:
            self.failure(f"app CPU {name}: {len(errors)} errors {entry['error_kinds']}")
        if self.args.profile and counter.value < budget:
            await self.app_cpu_profile(name, op, group, counter.value, budget, entry)

    async def app_cpu_profile(self, name, op, group, start, budget, entry) -> None:
        """py-spy on the group's workers during one more round (not measured)."""
        root = self.groups.roots[group]
        workers = [p for p in self.groups.pids()[group] if p != root]
        target = Path(self.args.out) / "profiles" / f"app-{name}.collapsed"
        running = profiling.start(workers, PROFILE_SECONDS, target.parent, f"app-{name}")
        await asyncio.sleep(0.5)
        await closed_round(op, start, budget - start, PROFILE_SECONDS - 0.5)
        stacks = await asyncio.to_thread(profiling.finish, running, target)
        entry["profile"] = {"file": str(target.relative_to(Path(self.args.out))), **profiling.top(stacks)}

    async def app_cpu_ops(self) -> dict:
        """name → (operation, process group, most operations it may run, writes?) of every scenario."""
        base, users, seeded = self.app_url, self.users, self.seeded
        l10, l100, l1000 = users["list10"], users["list100"], users["list1000"]
        task_id = seeded["list10"][0]
        async with loadgen.new_session(4, timeout=60.0) as http:
            token = await webclient.api_token(http, base, l10, "bench-app-cpu")
            async with http.get(f"{base}/tasks", headers=l10.headers()) as resp:
                list10_size = len(await resp.read())
            async with http.get(f"{base}/boards/{l10.user_id}/changes", headers=l10.headers()) as resp:
                etag = resp.headers.get("ETag", "")
        creators = [users[f"create{i}"] for i in range(N_CREATE_USERS)]
        created: list[tuple[webclient.WebUser, str]] = []
        versions: dict[str, str] = {}
        many = 10 ** 6

        def get(path: str, user, expect: bytes | None = None, status: int = 200, headers: dict | None = None):
            async def op(http, i):
                async with http.get(f"{base}{path}", headers={**(headers or user.headers())},
                                    allow_redirects=False) as resp:
                    body = await resp.read()
                    if resp.status != status:
                        return f"HTTP {resp.status}"
                    return None if expect is None or expect in body else "page without its tasks"
            return op

        async def create(http, i):
            user = creators[i % len(creators)]
            tid, err = await webclient.create_task(http, base, user, f"App CPU task {i}")
            if tid:
                created.append((user, tid))
            return err

        async def complete(http, i):
            if i >= len(created):
                return "no task left to complete"
            user, tid = created[i]
            return await webclient.complete_task(http, base, user, tid, versions.get(tid) or "1")

        ops = {
            "page-list10": (get("/tasks", l10, b"Seeded task"), "taskboard", many, False),
            "page-list1000": (get("/tasks", l1000, b"Seeded task"), "taskboard", many, False),
            "page-board": (get(f"/boards/{l100.user_id}", l100, b"Seeded task"), "taskboard", many, False),
            "page-task": (get(f"/tasks/{task_id}", l10, b"Seeded task"), "taskboard", many, False),
            "page-create": (create, "taskboard", ROUNDS * ROUND_OPS, True),
            # completes the tasks page-create made (each once): at most as many
            "page-complete": (complete, "taskboard", lambda: len(created), True),
            "changes-304": (get(f"/boards/{l10.user_id}/changes", l10, status=304,
                                headers={**l10.headers(), "If-None-Match": etag}), "taskboard", many, False),
            "api-get": (get(f"/api/v1/tasks/{task_id}", l10, b"Seeded task",
                            headers={"Authorization": f"Bearer {token}"}), "taskboard", many, False),
        }
        if "floor" in self.groups.roots:
            ops[FLOOR] = (self.floor_op(l10.user_id, list10_size), "floor", many, False)
        self.app_cpu_versions = lambda: self.versions([t for _, t in created])
        self.app_cpu_versions_into = versions
        return ops

    def floor_op(self, user_id: str, size: int):
        url = f"{self.floor_url}/page?user={user_id}&size={size}"

        async def op(http, i):
            async with http.get(url) as resp:
                await resp.read()
                return None if resp.status == 200 else f"HTTP {resp.status}"
        return op
