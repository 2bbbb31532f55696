"""The users and tasks the scenarios read and change, created through the app before any load."""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import aiohttp

import loadgen
import webclient
from common import N_CREATE_USERS, say


class Seeding:
    """Seeding of a started ``Bench`` (a mixin of it)."""

    async def user_id(self, http: aiohttp.ClientSession, username: str) -> str:
        async with http.get(f"{self.sidecar}/state/statestore/username:{username.lower()}",
                            headers=self.dapr_headers()) as resp:
            return (await resp.json())["user_id"]

    async def seed(self) -> None:
        stamp = secrets.token_hex(3)
        names = {"list10": f"b{stamp}l10", "list100": f"b{stamp}l100", "list1000": f"b{stamp}l1000",
                 "events": f"b{stamp}ev"}
        names.update({f"create{i}": f"b{stamp}c{i}" for i in range(N_CREATE_USERS)})
        say(f"registering {len(names)} users through POST /register")
        # Seeding is not measured: a request may wait long on a busy machine (registering hashes a password;
        # 16 at once on a shared 2-core machine took over 10 s each, the load points' timeout).
        async with loadgen.new_session(64, timeout=60.0) as http:
            gate = asyncio.Semaphore(16)

            async def register(name: str) -> webclient.WebUser:
                async with gate:
                    return await webclient.register(http, self.app_url, name)

            users = await asyncio.gather(*(register(n) for n in names.values()))
            self.users = dict(zip(names, users))
            for u in users:
                u.user_id = await self.user_id(http, u.username)
            counts = {"list10": 10, "list100": 100, "list1000": 1000, "events": 40}
            say(f"seeding {sum(counts.values())} tasks through POST /tasks/new "
                f"({', '.join(f'{k}: {v}' for k, v in counts.items())})")
            t0 = time.monotonic()

            async def fill(key: str, count: int) -> list[str]:
                user, ids, queue = self.users[key], [], []

                async def worker():
                    while queue:
                        n = queue.pop()
                        for _attempt in range(3):
                            try:
                                tid, err = await webclient.create_task(http, self.app_url, user, f"Seeded task {n}")
                            except aiohttp.ClientError as exc:  # a keep-alive connection the server closed
                                tid, err = None, f"{type(exc).__name__}: {exc}"
                            if tid:
                                ids.append(tid)
                                break
                        else:
                            raise webclient.AppError(f"seeding {key}: {err}")

                # The first task alone: concurrent first creates of one user lose index entries (README).
                queue.append(0)
                await worker()
                queue.extend(range(1, count))
                await asyncio.gather(*(worker() for _ in range(4)))
                return ids

            seeded = await asyncio.gather(*(fill(k, c) for k, c in counts.items()))
            self.seeded = dict(zip(counts, seeded))
        say(f"seeded in {time.monotonic() - t0:.1f}s")
        for key, ids in self.seeded.items():
            listed = await self.index_size(self.users[key].user_id)
            if listed != len(ids):
                self.failure(f"seeding {key}: {len(ids)} tasks created but the index lists {listed}")
        self.results["seeding"] = {"users": len(names), "tasks": counts, "seconds": round(time.monotonic() - t0, 1)}
        await self.drain("seeding", timeout=120)

    async def index_size(self, user_id: str) -> int:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{self.sidecar}/state/statestore/tasks-of:{user_id}", headers=self.dapr_headers()) as resp:
                body = await resp.read()
        return len(json.loads(body)["ids"]) if body else 0

    # -- metrics: sidecar calls per page -------------------------------------
