"""The benchmark's scenarios: (a) the raw sidecar, (b) the full stack, (c)/(d) the variants."""

from __future__ import annotations

import asyncio
import json
import secrets


import loadgen
import rawsidecar
import variants
import webclient

from common import FRACTIONS, N_CREATE_USERS, PROFILE_FRACTION, IndexCounter, say


class Scenarios:
    """The scenarios of a started ``Bench`` (a mixin of it)."""

    async def scenarios(self) -> None:
        """Every scenario, in order: (a) the limit, (b) the full stack, (c)/(d) the variants."""
        await self.limit_scenarios()
        await self.list_page_scenarios()
        await self.write_scenarios()
        await self.variant_scenarios()

    def wanted(self, name: str) -> bool:
        """Whether --only selects this scenario (all by default)."""
        only = set(self.args.only.split(",")) if self.args.only else None
        return only is None or any(name.startswith(o) for o in only)

    async def limit_scenarios(self) -> None:
        """(a) the limit: daprd straight over HTTP, no Flask."""
        h = self.dapr_headers()
        sc = self.sidecar
        wanted = self.wanted
        read_keys = [f"task:{t}" for t in self.seeded["list100"]]

        async def raw_get(http, i):
            async with http.get(f"{sc}/state/statestore/{read_keys[i % len(read_keys)]}", headers=h) as resp:
                await resp.read()
                return None if resp.status == 200 else f"HTTP {resp.status}"

        if wanted("sidecar-get"):
            await self.guard(self.sweep("sidecar-get", "daprd HTTP GET /v1.0/state/statestore/task:<id> (no Flask)",
                                        raw_get, concurrency=32, group="limit"))
        for name, sequence, title in (
                ("sidecar-create", rawsidecar.create5_sequence,
                 "BEFORE issue 17: the 5 sidecar calls of the create up to 3b7f4fc over daprd's HTTP API (no Flask): "
                 "GET index; POST transaction (task with its event in the outbox + ETag-guarded index); GET task; "
                 "POST publish task-events; POST state (outbox emptied, ETag)"),
                ("sidecar-create3", rawsidecar.create3_sequence,
                 "AFTER issue 17: the create's 3 sidecar calls over daprd's HTTP API (no Flask): GET index; POST "
                 "transaction (task listing its event id in the outbox + ETag-guarded index + outbox:<event id> with "
                 "ttlInSeconds 2592000); POST publish task-events"),
                ("sidecar-limit", rawsidecar.limit_sequence,
                 "the limit: ONE POST transaction, the least a create needs (task + its index entry + its outbox "
                 "entry); the index (as large as a real one: the benchmark, its only writer, keeps it in memory) is "
                 "upserted WITHOUT reading it or its ETag, which a real create cannot do (concurrent creates would "
                 "lose rows), and nothing is published")):
            if not wanted(name):
                continue
            prefix = f"{name.removeprefix('sidecar-')}{secrets.token_hex(3)}-"

            async def raw_create(http, i, sequence=sequence, prefix=prefix):
                return await sequence(http, sc, h, f"{prefix}{i % N_CREATE_USERS}")

            await self.guard(self.sweep(name, title, raw_create, concurrency=32, group="limit",
                                        drain_between=True))

    async def list_page_scenarios(self) -> None:
        """(b) the full stack: list pages of 10, 100 and 1,000 tasks."""
        wanted = self.wanted
        for key in ("list10", "list100", "list1000"):
            name = f"page-{key}"
            if not wanted(name):
                continue
            user = self.users[key]

            async def page(http, i, user=user):
                return await webclient.list_page(http, self.app_url, user, expect="Seeded task")

            await self.guard(self.sweep(name, f"GET /tasks of a user with {key.removeprefix('list')} tasks "
                                              "(signed in)",
                                        page, concurrency=16, group="full stack"))

    async def write_scenarios(self) -> None:
        """(b) the full stack: creates through the form, then completes of the tasks they made."""
        wanted = self.wanted
        pool: list[tuple[webclient.WebUser, str]] = []
        creators = [self.users[f"create{i}"] for i in range(N_CREATE_USERS)]

        async def form_create(http, i):
            user = creators[i % len(creators)]
            tid, err = await webclient.create_task(http, self.app_url, user, f"Bench task {i}")
            if tid:
                pool.append((user, tid))
            return err

        if wanted("page-create") or wanted("page-complete"):
            await self.guard(self.sweep("page-create", "POST /tasks/new (form with CSRF token; "
                                        f"{N_CREATE_USERS} users)",
                                        form_create, concurrency=16, group="full stack", drain_between=True))

        if wanted("page-complete"):
            versions: dict[str, str] = {}
            complete_counter = IndexCounter()

            async def top_up(needed: int) -> None:
                if len(pool) - complete_counter.value < needed:
                    missing = needed - (len(pool) - complete_counter.value)
                    say(f"  creating {missing} more tasks to complete (closed loop)")
                    async with loadgen.new_session(16) as http:
                        queue = list(range(missing))

                        async def worker():
                            while queue:
                                queue.pop()
                                await form_create(http, len(pool) + 10**6)
                        await asyncio.gather(*(worker() for _ in range(16)))
                    await self.drain("creating tasks to complete")
                fresh = [t for _, t in pool if t not in versions]
                if fresh:
                    versions.update(await self.versions(fresh))

            async def form_complete(http, i):
                if i >= len(pool):
                    return "no task left to complete"
                user, tid = pool[i]
                return await webclient.complete_task(http, self.app_url, user, tid, versions.get(tid) or "1")

            async def before_points(rate: float) -> None:
                extra = PROFILE_FRACTION if self.args.profile else 0
                await top_up(int(rate * self.args.point_seconds * (sum(FRACTIONS) + extra) * 1.1) + 50)

            if pool:
                # enough for a 2 s calibration even if completing is twice as fast as creating
                create_rate = self.results["scenarios"]["page-create"]["calibration"]["ops_per_s"]
                await top_up(int(create_rate * 2 * 2) + 100)
                await self.guard(self.sweep(
                    "page-complete", "POST /tasks/<id>/complete (form with CSRF token and version); "
                    "the event chain to the inbox runs behind it",
                    form_complete, concurrency=16, group="full stack", index_source=complete_counter,
                    before_points=before_points, drain_between=True, calib_seconds=2.0))

    async def variant_scenarios(self) -> None:
        """(d) direct Redis vs the sidecar for the list data (first: issue 17's target), then (c) the seeds'
        pattern vs one client per worker and (d) for the create (bench/variants.py)."""
        wanted = self.wanted
        vu = self.variants_url
        for key in ("list100", "list1000"):
            for mode, how in (("reused", "through the sidecar (ONE bulk get of the index and the inbox head, "
                                         "the page of 20 picked from the index rows)"),
                              ("redis", "redis-py (HGETALL of the index and the inbox head in one pipeline, "
                                        "the page of 20 picked from the index rows)")):
                name = f"variant-{key}-{mode}"
                if not wanted(name):
                    continue
                uid = self.users[key].user_id

                async def vlist(http, i, mode=mode, uid=uid,
                                expected=min(variants.PAGE, int(key.removeprefix("list")))):
                    async with http.get(f"{vu}/list/{mode}", params={"user": uid}) as resp:
                        body = await resp.read()
                        if resp.status != 200:
                            return f"HTTP {resp.status} {body[:80]!r}"
                        return None if json.loads(body)["count"] == expected else "wrong count"

                await self.guard(self.sweep(name, f"bench/variants.py: the list data path of a user with "
                                                  f"{key.removeprefix('list')} tasks, {how}",
                                            vlist, concurrency=16, group="variants"))

        for mode, title in (
                ("percall", "bench/variants.py: a new DaprClient() per request (the seeds' pattern), "
                            "then the create's 3 sidecar calls through the SDK"),
                ("reused", "bench/variants.py: one DaprClient per worker (as webapp), the create's 3 sidecar calls"),
                ("redis", "bench/variants.py: redis-py running Dapr's commands for the same create: HGETALL; "
                          "MULTI EVAL×3 EXPIRE EXEC; XADD")):
            name = f"variant-create-{mode}"
            if not wanted(name):
                continue
            prefix = f"v{mode}{secrets.token_hex(3)}-"

            async def vcreate(http, i, mode=mode, prefix=prefix):
                async with http.post(f"{vu}/create/{mode}", params={"user": f"{prefix}{i % N_CREATE_USERS}"}) as resp:
                    body = await resp.read()
                    return None if resp.status == 201 else f"HTTP {resp.status} {body[:80]!r}"

            await self.guard(self.sweep(name, title, vcreate, concurrency=16, group="variants", drain_between=True))
