"""An open-model (constant arrival rate) load generator on asyncio + aiohttp.

Request ``i`` of a point is *scheduled* at ``t0 + i / rate`` and started then
(or as soon as the event loop can), whatever happened to the requests before
it: a slow server does not slow the arrivals down (no coordinated omission).
Latency is measured from the scheduled start, so time a request spent waiting
for the generator itself, or for a free connection, counts as latency too.
How late the generator sent requests is recorded separately (``send_lag``): when
its p99 is large, the generator, not the system under test, was the bottleneck.

An *operation* is an ``async def op(session, i) -> str | None`` that returns
``None`` on success or a short error label (e.g. ``"HTTP 503"``). An operation
may make several HTTP calls (e.g. transaction + publish); its latency is the
whole operation's.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import aiohttp

Op = Callable[[aiohttp.ClientSession, int], Awaitable[str | None]]

USER_AGENT = "taskboard-bench/1"


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) by nearest rank; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class PointResult:
    offered_rps: float
    duration_s: float
    scheduled: int = 0
    ok: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    achieved_rps: float = 0.0  # successful completions inside the window ÷ window
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    send_lag_p99_ms: float | None = None
    max_inflight: int = 0
    probes: tuple = ()

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)
        return {
            "offered_rps": round(self.offered_rps, 1),
            "achieved_rps": round(self.achieved_rps, 1),
            "duration_s": self.duration_s,
            "scheduled": self.scheduled,
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "p50_ms": _r(percentile(lat, 50)),
            "p90_ms": _r(percentile(lat, 90)),
            "p99_ms": _r(percentile(lat, 99)),
            "max_ms": _r(lat[-1] if lat else None),
            "mean_ms": _r(sum(lat) / len(lat) if lat else None),
            "send_lag_p99_ms": _r(self.send_lag_p99_ms),
            "max_inflight": self.max_inflight,
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def new_session(limit: int = 1024, timeout: float = 10.0) -> aiohttp.ClientSession:
    """One HTTP session per point: keep-alive connections, no cookie jar (ops send their own)."""
    # gunicorn closes an idle keep-alive connection after 5 s (gunicorn.conf.py: keepalive): drop ours sooner,
    # or a request sent on one the server just closed fails ("Can not write request body").
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False,
                                     enable_cleanup_closed=True, ttl_dns_cache=None, keepalive_timeout=3.0)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                 headers={"User-Agent": USER_AGENT},
                                 timeout=aiohttp.ClientTimeout(total=timeout))


async def open_point(op: Op, rate: float, duration: float, *, start_index: int = 0,
                     grace: float = 8.0, max_inflight: int = 256,
                     probe: Callable[[], object] | None = None) -> PointResult:
    """Offer ``rate`` operations per second for ``duration`` seconds; wait ``grace`` s for stragglers.

    At most ``max_inflight`` operations are outstanding (like a client's connection pool); an
    operation waiting for a slot is late, and its wait counts in its latency. ``probe`` is called
    when the window starts and when it ends (e.g. to read CPU counters over exactly the window);
    its two results are in ``result.probes``.
    """
    point = _OpenPoint(op, PointResult(offered_rps=rate, duration_s=duration), start_index, max_inflight)
    async with new_session(max_inflight) as session:
        t0 = _clock() + 0.05
        first_probe = probe() if probe else None
        point.window_end = t0 + duration
        tasks = await point.offer(session, t0, rate, int(rate * duration))
        await _sleep_until(point.window_end)
        if probe:
            point.result.probes = (first_probe, probe())
        await point.collect(tasks, grace)
    return point.summarise()


_clock = time.perf_counter  # uvloop's loop.time() has millisecond resolution only


async def _sleep_until(moment: float) -> None:
    remaining = moment - _clock()
    if remaining > 0:
        await asyncio.sleep(remaining)


class _OpenPoint:
    """The bookkeeping of one open-model point: slots, send lags, errors, completions in the window."""

    def __init__(self, op: Op, result: PointResult, start_index: int, max_inflight: int):
        self.op = op
        self.result = result
        self.start_index = start_index
        self.slots = asyncio.Semaphore(max_inflight)
        self.window_end = 0.0
        self.errors: Counter[str] = Counter()
        self.lags: list[float] = []
        self.inflight = 0
        self.done_in_window = 0

    async def offer(self, session: aiohttp.ClientSession, t0: float, rate: float,
                    total: int) -> list[asyncio.Future]:
        """Start operation ``i`` at ``t0 + i / rate`` (or as soon as the loop can), whatever the others do."""
        tasks = []
        for i in range(total):
            scheduled = t0 + i / rate
            await _sleep_until(scheduled)
            tasks.append(asyncio.ensure_future(self.one(session, i, scheduled)))
        self.result.scheduled = total
        return tasks

    async def one(self, session: aiohttp.ClientSession, i: int, scheduled: float) -> None:
        """Operation ``i``: waits for a slot, runs, and counts from its scheduled start."""
        async with self.slots:
            self.inflight += 1
            self.result.max_inflight = max(self.result.max_inflight, self.inflight)
            self.lags.append((_clock() - scheduled) * 1000)
            try:
                err = await self.op(session, self.start_index + i)
            except asyncio.TimeoutError:
                err = "timeout"
            except aiohttp.ClientError as exc:
                err = type(exc).__name__
            finally:
                self.inflight -= 1
        finished = _clock()
        if err is None:
            self.result.ok += 1
            self.result.latencies_ms.append((finished - scheduled) * 1000)
            if finished <= self.window_end:
                self.done_in_window += 1
        else:
            self.errors[err] += 1

    async def collect(self, tasks: list[asyncio.Future], grace: float) -> None:
        """Wait ``grace`` s for the operations still running, cancel the rest; count them and any crash."""
        pending = [t for t in tasks if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace)
            for t in still:
                t.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
                self.errors["not finished within grace"] += len(still)
        for t in tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                self.errors[type(t.exception()).__name__] += 1

    def summarise(self) -> PointResult:
        result = self.result
        result.errors = sum(self.errors.values())
        result.error_kinds = dict(self.errors)
        result.achieved_rps = self.done_in_window / result.duration_s
        self.lags.sort()
        result.send_lag_p99_ms = percentile(self.lags, 99)
        return result


async def closed_capacity(op: Op, concurrency: int, duration: float, *, start_index: int = 0,
                          windows: int = 3) -> tuple[float, int, dict[str, int], list[float]]:
    """Throughput of ``concurrency`` back-to-back workers (a quick capacity estimate for picking rates).

    The time is split into ``windows`` windows, each on fresh connections; the
    best one counts. Keep-alive connections stay on the gunicorn worker that
    accepted them, and 16 connections opened at once can land 12 / 4 on two
    workers: that window then measures one busy core, not the app.

    Returns (best window's successful operations per second, operations used,
    error counts, every window's rate).
    """
    used = 0
    errors: Counter[str] = Counter()
    rates = []
    for _ in range(windows):
        rate, window_used = await _closed_window(op, concurrency, duration / windows, start_index + used, errors)
        used += window_used
        rates.append(rate)
    return max(rates), used, dict(errors), rates


async def _closed_window(op: Op, concurrency: int, duration: float, start_index: int,
                         errors: Counter[str]) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    count = 0
    used = 0
    async with new_session(concurrency) as session:
        end = loop.time() + duration

        async def worker() -> None:
            nonlocal count, used
            while loop.time() < end:
                i = start_index + used
                used += 1
                try:
                    err = await op(session, i)
                except asyncio.TimeoutError:
                    err = "timeout"
                except aiohttp.ClientError as exc:
                    err = type(exc).__name__
                if err is None:
                    count += 1
                else:
                    errors[err] += 1

        start = loop.time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = loop.time() - start
    return count / elapsed, used


def run(coro):
    """Run a coroutine on uvloop when installed (a cheaper generator), else asyncio."""
    try:
        import uvloop
        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def now() -> float:
    return time.monotonic()
