"""growth.md from growth.json: each figure at every size, and the ratio of the largest size to the smallest."""

from __future__ import annotations


NOTES = """## How

* One replica of each app (gunicorn 2 workers, `TASKBOARD_ENV=production`, app and API tokens), daprd 1.18.3,
  Redis, the scheduler, started through `scripts/devstack.py` from a snapshot of the tree. The `cron` and `relay`
  bindings are left out of the stack's components: the benchmark posts what one hour of them does to the app
  (`POST /cron`, `POST /relay` with the app token), so nothing else runs in the windows.
* Users are seeded with 5 tasks each straight through daprd's HTTP state API (bulk saves of 800 items, 4 at a
  time), in the app's layouts built by its own modules: `user:<id>`, `username:<name>`, `tasks-of:<id>` (ids and
  rows), `task:<id>` (empty outbox), `users-index:<xx>` shards. Every seeded user shares one password hash. Seeded
  users have no digest job (registration schedules one; 100,000 digest jobs a day is work *due*, not idle work).
* Registration: `POST /register` through the form, sequential, 5 warm-up then 50 timed (the GET of the form is not
  timed). Its p50 includes hashing the password on purpose (werkzeug scrypt; `password_hash_ms` in growth.json).
* List page: `GET /tasks` of a seeded user (5 tasks), signed in with the seeded password, 5 warm-up then 50.
* Sidecar calls are the apps' own gRPC calls to their sidecars (`dapr_grpc_io_server_completed_rpcs` of both daprd,
  before and after); the benchmark itself only uses daprd's HTTP API and Redis, so it is not counted. CPU-seconds
  are utime + stime of every process of the stack (both apps, both daprd, Redis, scheduler).
* One hour with nothing due: the relay runs every 10 s (360 runs, each after its 8 s lease expired: the lease is
  deleted in Redis before each, as the clock would), the sweep every 5 min (12 `/cron`, lease deleted before
  each). A sweep run is one page of the walk (`webapp/background/sweep.py` `PAGE_USERS` users after the stored cursor, their
  indexes and documents read in bulk): the outbox backstop and row repair. *Round*: how long the walk takes to come
  round to every user at one run per 5 minutes. *Per extra replica*: its binding's 12 `/cron` an hour, each
  skipped under the lease (one refused create); measured as 11.
* Jobs due: one task each of 100 freshly seeded users made overdue (task and row rewritten), and its
  `overdue-<task id>` job scheduled through daprd's HTTP Jobs API 20 s ahead; the window runs from after the
  scheduling until every alert's marker is stored and the event streams are drained (it includes about 20 s of the
  stack idling). Each firing reads the task and the user, invokes notification-service (which claims,
  sends through the file binding, publishes, records) and stores the marker."""


def complete(results: dict) -> dict:
    """The sizes every figure was measured at (growth.json also keeps a size interrupted half-way)."""
    return {k: v for k, v in results["sizes"].items() if "measure_s" in v}


def _rows(results: dict) -> list[tuple[str, list, str]]:
    sizes = list(complete(results).values())
    bg = [s["background"] for s in sizes]
    jobs = [s["jobs_due"] for s in sizes]
    return [
        ("registration p50 (ms)", [s["registration_ms"]["p50"] for s in sizes], "≤ 1.2×"),
        ("registration p99 (ms)", [s["registration_ms"]["p99"] for s in sizes], ""),
        ("list page p50 (ms, 5 tasks)", [s["list_page_ms"]["p50"] for s in sizes], ""),
        ("hour, nothing due (12 sweep runs + 360 relays): sidecar calls",
         [b["hour"]["sidecar_calls"] for b in bg], "≤ 1.2×"),
        ("… CPU-s", [b["hour"]["cpu_s"] for b in bg], ""),
        ("relay: 360 runs (one hour): sidecar calls", [b["relay_hour"]["sidecar_calls"] for b in bg], ""),
        ("… CPU-s", [b["relay_hour"]["cpu_s"] for b in bg], ""),
        ("sweep: 12 runs (one hour): sidecar calls", [b["sweep_hour"]["sidecar_calls"] for b in bg], ""),
        ("… CPU-s", [b["sweep_hour"]["cpu_s"] for b in bg], ""),
        ("… wall s of the slowest run", [max(r["wall_s"] for r in b["sweep_runs"]) for b in bg], ""),
        ("… users walked", [b["sweep_users_per_hour"] for b in bg], ""),
        ("… round (hours to come round to every user)", [b["sweep_round_hours"] for b in bg], ""),
        ("per extra replica: 11 /cron under the lease (skipped): sidecar calls", [b["skipped_sweeps_11"]["sidecar_calls"] for b in bg],
         ""),
        ("jobs due: overdue jobs fired", [j["fired"] for j in jobs], ""),
        ("… sidecar calls per job fired", [j["calls_per_job"] for j in jobs], "proportional"),
        ("… CPU-s per job fired", [j["cpu_s_per_job"] for j in jobs], ""),
    ]


def _fmt(v) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}" if v < 100 else f"{v:,.1f}"
    return f"{int(v):,}"


def render(results: dict) -> str:
    sizes = list(complete(results))
    if not sizes:
        return "# Growth benchmark\n\nNo size was measured: " + "; ".join(results.get("failures", [])) + "\n"
    head = " | ".join(f"{int(s):,} users" for s in sizes)
    lines = ["# Growth benchmark (`make bench-growth`, bench/growth.py)", "",
             f"Run {results.get('environment', {}).get('date', '?')}, {results.get('runtime_s', 0):.0f} s in all. "
             "See bench/README.md (growth benchmark) for how each figure is measured.", "",
             f"| figure | {head} | ratio {int(sizes[-1]):,} ÷ {int(sizes[0]):,} | target |",
             "|---|" + "---:|" * len(sizes) + "---:|---|"]
    for name, values, target in _rows(results):
        ratio = f"{values[-1] / values[0]:.2f}×" if len(values) > 1 and values[0] else "–"
        lines.append(f"| {name} | " + " | ".join(_fmt(v) for v in values) + f" | {ratio} | {target} |")
    lines += ["", "| size | seeded in | measured in | Redis keys |", "|---:|---:|---:|---:|"]
    for s, r in complete(results).items():
        lines.append(f"| {int(s):,} | {r['seed_s']} s | {r['measure_s']} s | {r['redis_keys']:,} |")
    lines += ["", *NOTES.splitlines()]
    if results.get("failures"):
        lines += ["", "Failures: " + "; ".join(results["failures"])]
    return "\n".join(lines) + "\n"
