"""Counting what the stack does per operation: sidecar calls (daprd metrics), Redis commands, event latency."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import aiohttp

import loadgen
import webclient

from common import say


class Measures:
    """Counters and latency measurements of a started ``Bench`` (a mixin of it)."""

    def scrape(self) -> dict[str, float]:
        """API calls (gRPC and HTTP, server side) and state-store operations of both sidecars, by method.

        Keys of the notification-service sidecar start with ``notif:``.
        """
        out = self._scrape(self.tb.metrics, "")
        out.update(self._scrape(self.stack.ports.apps["notification-service"].metrics, "notif:"))
        return out

    def _scrape(self, port: int, prefix: str) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            name, _, rest = line.partition("{")
            labels, _, value = rest.rpartition("} ")
            if name == "dapr_grpc_io_server_completed_rpcs":
                key = "grpc " + _label(labels, "grpc_server_method").rsplit("/", 1)[-1]
            elif name == "dapr_http_server_request_count":
                key = f"http {_label(labels, 'method')} {_label(labels, 'path')}"
            elif name == "dapr_component_state_count":
                key = "statestore " + _label(labels, "operation")
            else:
                continue
            out[prefix + key] = out.get(prefix + key, 0) + float(value)
        return out

    def redis_calls(self) -> dict[str, int]:
        """Redis commands so far, by command ({} on a stack without Redis)."""
        if self.redis is None:
            return {}
        stats = self.redis.info("commandstats")
        return {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}

    async def count_calls(self, label: str, action, n: int, wait_for_events: bool = False) -> dict:
        """daprd API calls and Redis commands per ``action`` (averaged over ``n`` sequential ones)."""
        before, rbefore = self.scrape(), self.redis_calls()
        errors = 0
        async with loadgen.new_session(4) as http:
            for i in range(n):
                errors += await action(http, i) is not None
        if wait_for_events:
            await self.drain(label)
        after, rafter = self.scrape(), self.redis_calls()
        sidecar = {k: round((after.get(k, 0) - before.get(k, 0)) / n, 2) for k in after}
        sidecar = {k: v for k, v in sidecar.items() if v}
        redis_cmds = {k: round((rafter.get(k, 0) - rbefore.get(k, 0)) / n, 2) for k in rafter}
        redis_cmds = {k: v for k, v in redis_cmds.items()
                      if v and k not in ("info", "xreadgroup", "xautoclaim", "xpending", "ping", "scan", "type",
                                         "xinfo|stream", "xinfo|groups", "hello", "client|setinfo")}
        api_calls = sum(v for k, v in sidecar.items() if k.startswith(("grpc ", "http ")))
        notif_calls = sum(v for k, v in sidecar.items() if k.startswith(("notif:grpc ", "notif:http ")))
        say(f"  {label}: {api_calls:.2f} taskboard-sidecar API calls each"
            + (f" (+{notif_calls:.2f} on notification-service's)" if notif_calls else "")
            + f"; {sidecar}; redis {redis_cmds}")
        return {"sidecar_api_calls": round(api_calls, 2), "notification_sidecar_api_calls": round(notif_calls, 2),
                "by_method": sidecar, "redis_commands": redis_cmds, "errors": errors, "samples": n}

    async def count_in_request(self, label: str, action, n: int = 30) -> dict:
        """taskboard-sidecar API calls made while one ``action`` ran: its sidecar's counters read right before
        and right after it, once the previous one's events were handled; the second least of ``n``.

        An event handler that starts before the second read adds calls (most reads); daprd updates its metrics
        asynchronously, so a read now and then misses the request's last call: the second least is the
        request's own count as soon as two of the ``n`` reads were clean.
        """
        counts: list[float] = []
        by_count: dict[float, dict[str, float]] = {}
        async with loadgen.new_session(4) as http:
            for i in range(n):
                await self.drain(label)
                before = self._scrape(self.tb.metrics, "")
                if await action(http, 10**6 + i) is not None:
                    continue
                after = self._scrape(self.tb.metrics, "")
                calls = {k: after[k] - before.get(k, 0) for k in after
                         if k.startswith(("grpc ", "http ")) and after[k] != before.get(k, 0)}
                counts.append(sum(calls.values()))
                by_count.setdefault(counts[-1], calls)
        total = sorted(counts)[1] if len(counts) > 1 else None
        say(f"  {label}: {total} taskboard-sidecar API calls (second least of {len(counts)}: "
            f"{by_count.get(total)}; each: {counts})")
        return {"sidecar_api_calls": total, "by_method_least": by_count.get(total, {}), "each": counts,
                "errors": n - len(counts), "samples": n}

    async def calls_per_page(self, pages: int = 20) -> None:
        say(f"counting sidecar calls per list page ({pages} pages per size, metrics at :{self.tb.metrics})")
        await self.drain("before counting")
        out = {}
        for key in ("list10", "list100", "list1000"):
            user = self.users[key]
            async with loadgen.new_session(4) as http:
                await webclient.list_page(http, self.app_url, user)  # warm up

            async def page(http, i, user=user):
                return await webclient.list_page(http, self.app_url, user, expect="Seeded task")

            # Background work (the relay binding reads its list every 10 s, the sweep every 5 min) only adds
            # calls to a window: of three windows, the one with the fewest calls is the page's own count.
            windows = [await self.count_calls(f"list page of {key.removeprefix('list')} tasks", page, pages)
                       for _ in range(3)]
            best = min(windows, key=lambda w: w["sidecar_api_calls"])
            out[key] = {"tasks": int(key.removeprefix("list")), **best,
                        "windows": [w["sidecar_api_calls"] for w in windows]}
        self.results["calls_per_page"] = out

    async def calls_per_write(self, n: int = 20) -> None:
        """Sidecar calls of one create and one complete, including the handling of their events."""
        say(f"counting sidecar calls per create and per complete ({n} each, events handled included)")
        user, made = self.users["create0"], []
        await self.drain("before counting writes")

        async def create(http, i):
            tid, err = await webclient.create_task(http, self.app_url, user, f"Counted task {i}")
            made.append(tid)
            return err

        out = {"create_in_request": await self.count_in_request("create, in the request", create),
               "create": await self.count_calls("create + its task.created handling", create, n, True)}
        versions = await self.versions([t for t in made if t])

        async def complete(http, i):
            return await webclient.complete_task(http, self.app_url, user, made[i], versions.get(made[i]) or "1")

        out["complete"] = await self.count_calls("complete + task.completed → notify → inbox", complete, n, True)
        self.results["calls_per_write"] = out

    # -- event latency -------------------------------------------------------

    async def event_latency(self, samples: int = 25) -> None:
        say(f"event latency: complete a task, poll inbox:<user id> through daprd until it shows ({samples} samples)")
        user = self.users["events"]
        ids = self.seeded["events"][:samples]
        await self.drain("before event latency")
        versions = await self.versions(ids)
        from_request, from_response, errors = [], [], {}
        clock = time.perf_counter
        async with loadgen.new_session(8) as http:
            for tid in ids:
                t_req = clock()
                err = await webclient.complete_task(http, self.app_url, user, tid, versions[tid])
                t_resp = clock()
                if err:
                    errors[err] = errors.get(err, 0) + 1
                    continue
                seen = None
                while clock() - t_resp < 20:
                    async with http.get(f"{self.sidecar}/state/statestore/inbox:{user.user_id}",
                                        headers=self.dapr_headers()) as resp:
                        body = await resp.read()
                    if body and any(i.get("task_id") == tid for i in json.loads(body).get("items", [])):
                        seen = clock()
                        break
                    await asyncio.sleep(0.005)
                if seen is None:
                    errors["not in inbox within 20s"] = errors.get("not in inbox within 20s", 0) + 1
                    continue
                from_request.append((seen - t_req) * 1000)
                from_response.append((seen - t_resp) * 1000)
                await asyncio.sleep(0.1)
        res = {"samples": len(from_request), "errors": errors, "poll_interval_ms": 5,
               "from_request_start_ms": _pcts(from_request), "from_response_ms": _pcts(from_response)}
        self.results["event_latency"] = res
        say(f"  complete → inbox: {res['from_request_start_ms']} (from the POST's start); errors {errors}")
        if errors:
            self.results["failures"].append(f"event latency: {errors}")

    async def versions(self, task_ids: list[str]) -> dict[str, str]:
        """Current versions of tasks (what the forms carry: the task's revision, not the state ETag), in one
        bulk read through the sidecar."""
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.sidecar}/state/statestore/bulk", headers=self.dapr_headers(),
                                 json={"keys": [f"task:{t}" for t in task_ids], "parallelism": 32}) as resp:
                items = await resp.json()
        return {it["key"].split(":", 1)[1]: str((it.get("data") or {}).get("revision", "")) for it in items}

    # -- scenarios -------------------------------------------------------------


def _label(labels: str, name: str) -> str:
    for part in labels.split(","):
        k, _, v = part.partition("=")
        if k == name:
            return v.strip('"')
    return ""


def _pcts(values: list[float]) -> dict:
    values = sorted(values)
    return {q: round(loadgen.percentile(values, p), 1) if values else None
            for q, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))}
