"""Running one scenario: calibrate, offer load points as fractions of it, optionally profile a point."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path


import loadgen
import profiling
import procstats
import summaries
from common import FRACTIONS, PROFILE_FRACTION, T_START, IndexCounter, say


class LoadPoints:
    """The load-point sweep of a started ``Bench`` (a mixin of it)."""

    async def sweep(self, name: str, title: str, op, *, concurrency: int, group: str,
                    fractions=FRACTIONS, calib_seconds: float = 3.0, index_source=None,
                    before_points=None, drain_between: bool = False) -> dict:
        """Calibrate capacity (closed loop), then offer load at fractions of it (open model)."""
        expected = calib_seconds + len(fractions) * (self.args.point_seconds + 1.5)
        if time.monotonic() - T_START + expected > self.args.budget:
            self.warn(f"{name} skipped: it would end after the time budget of {self.args.budget:.0f}s")
            return {}
        say(f"{name}: {title}")
        entry = {"title": title, "group": group, "points": []}
        self.results["scenarios"][name] = entry
        counter = index_source or IndexCounter()
        rate, used, errors, windows = await loadgen.closed_capacity(op, concurrency, calib_seconds,
                                                                    start_index=counter.take(0))
        counter.take(used)
        entry["calibration"] = {"closed_loop_concurrency": concurrency, "ops_per_s": round(rate, 1),
                                "operations": used, "errors": errors,
                                "windows_ops_per_s": [round(w, 1) for w in windows]}
        say(f"  calibration: {rate:.1f} ops/s with {concurrency} back-to-back clients (best of "
            + " / ".join(f"{w:.0f}" for w in windows) + ")" + (f"; errors {errors}" if errors else ""))
        if rate <= 0:
            self.failure(f"{name}: no successful operation during calibration ({errors})")
            return entry
        if drain_between:
            await self.drain(f"{name} calibration")
        if before_points:
            await before_points(rate)
        for fraction in fractions:
            offered = max(1.0, round(rate * fraction, 1))
            start_index = counter.take(int(offered * self.args.point_seconds) + 1)
            point = await loadgen.open_point(op, offered, self.args.point_seconds, start_index=start_index,
                                             grace=5.0, probe=lambda: (time.monotonic(), self.cpu_snapshot()))
            (t0, cpu0), (t1, cpu1) = point.probes
            cpu = procstats.cpu_percent(cpu0, cpu1, t1 - t0)  # over the load window only
            cpu["others"] = max(0.0, round(cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine"), 1))
            mem = self.note_memory()
            summary = point.summary()
            summary["fraction_of_calibration"] = fraction
            summary["cpu_percent"] = cpu
            summary["rss_mb"] = {k: v["rss_mb"] for k, v in mem.items()}
            entry["points"].append(summary)
            errs = f", errors {point.errors} {point.error_kinds}" if point.errors else ""
            say(f"  offered {offered:7.1f}/s → {summary['achieved_rps']:7.1f}/s  p50 {summary['p50_ms']} "
                f"p90 {summary['p90_ms']} p99 {summary['p99_ms']} ms{errs}  "
                f"cpu app {cpu.get('taskboard', 0)}% daprd {cpu.get('daprd-taskboard', 0)}% "
                f"variants {cpu.get('variants', 0)}% redis {cpu.get('redis', 0)}% gen {cpu['load generator']}%")
            if point.errors:
                message = f"{name} at {offered}/s: {point.errors} errors {point.error_kinds}"
                overloaded = "not finished within grace" in point.error_kinds or not summaries.served_in_full(summary)
                if overloaded:  # contention (an ETag conflict after every retry) is then a symptom too
                    self.results["warnings"].append(f"overload: {message}")
                else:
                    self.results["failures"].append(message)
            self.check_alive()
            if drain_between:
                await self.drain(f"{name} at {offered}/s")
            await asyncio.sleep(0.5)
        if self.args.profile and group == "full stack":
            await self.profiled_point(name, op, rate, counter, entry)
        return entry

    async def profiled_point(self, name: str, op, rate: float, counter, entry: dict) -> None:
        """One more point at PROFILE_FRACTION of capacity with py-spy on every taskboard worker.

        Not one of the measured points: py-spy takes CPU from the same 2 cores.
        """
        offered = max(1.0, round(rate * PROFILE_FRACTION, 1))
        root = self.groups.roots["taskboard"]
        workers = [p for p in self.groups.pids()["taskboard"] if p != root]
        target = Path(self.args.out) / "profiles" / f"{name}.collapsed"
        running = profiling.start(workers, self.args.point_seconds, target.parent, name)
        await asyncio.sleep(0.5)  # attached before the first request
        start_index = counter.take(int(offered * self.args.point_seconds) + 1)
        point = await loadgen.open_point(op, offered, self.args.point_seconds, start_index=start_index, grace=5.0)
        stacks = await asyncio.to_thread(profiling.finish, running, target)
        entry["profile"] = {"offered_rps": offered, "achieved_rps": point.summary()["achieved_rps"],
                            "errors": point.errors, "workers": len(workers),
                            "file": str(target.relative_to(Path(self.args.out))), **profiling.top(stacks)}
        packages = ", ".join(f"{p} {v}%" for p, v in entry["profile"]["packages"][:5])
        say(f"  profiled {offered}/s on {len(workers)} workers: {entry['profile']['samples']} samples; "
            f"self time by package: {packages}")

    # -- seeding -------------------------------------------------------------
