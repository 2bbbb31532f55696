"""results.json → the Markdown tables of results.md, one function per section."""

from __future__ import annotations

import app_cpu_report
import before_after
from summaries import (CPU_COLUMNS, GEN_BOUND, KEPT_UP_P99_MS, cpu_cells, cpu_ms_per_op, fmt, kept_up, light,
                          near, ratio, sustained, targets)


def build_markdown(r: dict) -> str:
    """The whole results.md."""
    out: list[str] = []
    for section in (header, app_cpu_report.app_cpu, summary, before_after.targets, targets, before_after.before_after, ratios,
                    calls_per_page, calls_per_write, event_latency, memory, profiles, load_points, closing):
        out += section(r)
    return "\n".join(out)


def header(r: dict) -> list[str]:
    sc, env = r.get("scenarios", {}), r.get("environment", {})
    out = ["# Taskboard benchmark results", ""]
    if env:
        out += [f"{env.get('date')} · commit {env.get('git_commit')} · {env.get('cpus')} CPUs · daprd "
                f"{env.get('daprd')} · Python {env.get('python')} · gunicorn {env.get('gunicorn')} · "
                f"{env.get('point_seconds')} s per load point · {env.get('load_generator')} · "
                f"whole run {r.get('runtime_s')} s", ""]
    out += ["Latencies in ms, measured from each request's *scheduled* start (open model); @25% / @80% = at the "
            "load point offering about 25% / 80% of the calibrated capacity. *Max throughput* = highest achieved rate "
            "of a point with < 1% errors (latency may be high there); *kept up with* = highest offered rate served in "
            f"full (≥ 97% achieved, < 1% errors, p99 ≤ {KEPT_UP_P99_MS:.0f} ms). "
            "CPU in % of one core (this machine has 2: 200% is all of it), measured over the load window of the point "
            "of that throughput; *other procs* is whatever else ran on the machine meanwhile (machine − the rest). "
            "The load generator runs on the same 2 cores; *generator-bound* marks a throughput measured while "
            f"the generator itself used ≥ {GEN_BOUND:.0f}% of a core (the system may do more).", ""]

    others = [p["cpu_percent"].get("others", 0) for e in sc.values() for p in e.get("points", [])]
    if others:
        mean_others = sum(others) / len(others)
        note = (" — **the machine was shared during this run: the numbers are pessimistic**"
                if mean_others > 20 else "")
        out += [f"Other processes on the machine used {mean_others:.0f}% of a core on average during the load "
                f"points (load average before the start: {env.get('load_average_before_start', '–')}){note}.", ""]

    return out


def summary(r: dict) -> list[str]:
    sc = r.get("scenarios", {})
    out = []
    out += ["## Summary", "",
            "| scenario | calibration (closed loop) ops/s | max throughput ops/s | kept up with ops/s | "
            "stack CPU ms/op | p50 @25% | p90 @25% | p99 @25% | p99 @80% | errors (all points) | "
            + " | ".join(f"CPU {c}" for _, c in CPU_COLUMNS) + " |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(CPU_COLUMNS)]
    for name, e in sc.items():
        s, k, lo, hi = sustained(e), kept_up(e), light(e), near(e, 0.8)
        errors = sum(p["errors"] for p in e.get("points", []))
        bound = " (generator-bound)" if s and s.get("cpu_percent", {}).get("load generator", 0) >= GEN_BOUND else ""
        out.append(f"| **{name}** | {fmt((e.get('calibration') or {}).get('ops_per_s'))} | "
                   f"{fmt(s and s['achieved_rps'])}{bound} | {fmt(k and k['achieved_rps'])} | "
                   f"{fmt(cpu_ms_per_op(e), 2)} | {fmt(lo and lo['p50_ms'])} | {fmt(lo and lo['p90_ms'])} | "
                   f"{fmt(lo and lo['p99_ms'])} | {fmt(hi and hi['p99_ms'])} | {errors} | "
                   + " | ".join(cpu_cells(s)) + " |")
    out += ["", "What each scenario is:", ""]
    out += [f"- **{name}** ({e.get('group')}): {e.get('title')}" for name, e in sc.items()]

    return out


def ratios(r: dict) -> list[str]:
    sc = r.get("scenarios", {})
    out = []
    out += ["", "## Ratios", "",
            "| comparison | throughput | ops per CPU-second | p50 at ~25% load | p99 at ~25% load |",
            "|---|---:|---:|---:|---:|"]

    def row(label: str, a: str, b: str, note: str = "") -> None:
        ea, eb = sc.get(a), sc.get(b)
        if not ea or not eb:
            out.append(f"| {label} | – | – | – | – |")
            return
        sa, sb, la, lb = sustained(ea), sustained(eb), light(ea), light(eb)
        out.append(f"| {label}{note} | {ratio(sa and sa['achieved_rps'], sb and sb['achieved_rps'])} | "
                   f"{ratio(cpu_ms_per_op(eb), cpu_ms_per_op(ea))} | "
                   f"{ratio(la and la['p50_ms'], lb and lb['p50_ms'])} | {ratio(la and la['p99_ms'], lb and lb['p99_ms'])} |")

    row("full stack ÷ the limit: create (page-create ÷ sidecar-limit, one transaction)", "page-create",
        "sidecar-limit")
    row("full stack ÷ raw sidecar: create (page-create ÷ sidecar-create3, the 3 calls)", "page-create",
        "sidecar-create3")
    row("full stack ÷ raw sidecar before issue 17: create (page-create ÷ sidecar-create, the 5 calls)",
        "page-create", "sidecar-create")
    row("raw sidecar: 3-call create ÷ 5-call create (sidecar-create3 ÷ sidecar-create)", "sidecar-create3",
        "sidecar-create")
    row("raw sidecar: 3-call create ÷ the limit (sidecar-create3 ÷ sidecar-limit)", "sidecar-create3",
        "sidecar-limit")
    row("full stack ÷ raw sidecar: list page of 10 ÷ one state GET", "page-list10", "sidecar-get")
    row("full stack ÷ raw sidecar: list page of 100 ÷ one state GET", "page-list100", "sidecar-get")
    row("reused ÷ per-request DaprClient: create", "variant-create-reused", "variant-create-percall")
    row("Dapr ÷ direct Redis: create (same WSGI app)", "variant-create-reused", "variant-create-redis")
    row("Dapr ÷ direct Redis: list data of 100 tasks", "variant-list100-reused", "variant-list100-redis")
    row("Dapr ÷ direct Redis: list data of 1,000 tasks", "variant-list1000-reused", "variant-list1000-redis")
    cpp = r.get("calls_per_page", {})
    if cpp:
        out.append("| sidecar calls per list page (10 / 100 / 1,000 tasks) | " +
                   " / ".join(fmt(v["sidecar_api_calls"], 2) for v in cpp.values()) + " | | | |")
    out += ["", "A ratio is the first scenario's number over the second's: a throughput ratio below 1× or a latency "
            "ratio above 1× means the first is slower. *Ops per CPU-second* divides the second's stack CPU per "
            "operation by the first's (Summary's *stack CPU ms/op*: machine CPU less the load generator and "
            "unrelated processes, median over the points kept up with): on 2 cores shared by everything it is the "
            "steadier figure, since a throughput is one point of a coarse load grid.", ""]

    return out


def calls_per_page(r: dict) -> list[str]:
    cpp = r.get("calls_per_page", {})
    out = []
    if cpp:
        out += ["## Sidecar calls per list page", "",
                "Counted from daprd's metrics endpoint (`dapr_grpc_io_server_completed_rpcs`, "
                "`dapr_http_server_request_count`, `dapr_component_state_count`) and Redis `INFO commandstats`, "
                "before and after 20 list pages of one user, divided by 20; the least of three such windows, since "
                "background work (the `relay` binding every 10 s, the sweep) can only add calls to a window.", "",
                "| tasks | sidecar API calls per page | by method (incl. state-store operations) | Redis commands per page |",
                "|---:|---:|---|---|"]
        for v in cpp.values():
            out.append(f"| {v['tasks']} | {fmt(v['sidecar_api_calls'], 2)} | {_by_method_and_redis(v)} |")
        out.append("")

    return out


def _by_method_and_redis(counts: dict) -> str:
    """Two table cells: the sidecar calls by method, and the Redis commands."""
    by = ", ".join(f"{k}: {fmt(x, 2)}" for k, x in counts["by_method"].items())
    rc = ", ".join(f"{k}: {fmt(x, 2)}" for k, x in counts["redis_commands"].items())
    return f"{by} | {rc}"


def calls_per_write(r: dict) -> list[str]:
    out = []
    cpw = r.get("calls_per_write")
    if cpw:
        out += ["## Sidecar calls per create and per complete", "",
                "20 creates (then 20 completes of those tasks) one after another through the forms; counters read "
                "before and after, once every event they caused was handled (subscribers, notification-service), "
                "so the numbers include the event handling, not only the request. *create_in_request*: the taskboard "
                "sidecar's counters read right before and right after each of 30 creates (each once the previous "
                "one's events were handled); the second least of them: a handler starting before the second read "
                "adds calls, and daprd updates its metrics asynchronously, so a read now and then misses the "
                "request's last call.", "",
                "| operation | taskboard sidecar API calls | notification-service sidecar API calls | by method | "
                "Redis commands |", "|---|---:|---:|---|---|"]
        for op, v in cpw.items():
            if "by_method" not in v:  # the in-request count: a total only
                by = ", ".join(f"{k}: {fmt(x, 2)}" for k, x in (v.get("by_method_least") or {}).items())
                out.append(f"| {op} (second least of {v['samples']}: {v['each']}) | {fmt(v['sidecar_api_calls'], 2)} | | "
                           f"{by} | |")
                continue
            out.append(f"| {op} | {fmt(v['sidecar_api_calls'], 2)} | {fmt(v.get('notification_sidecar_api_calls'), 2)} | "
                       f"{_by_method_and_redis(v)} |")
        out.append("")

    return out


def event_latency(r: dict) -> list[str]:
    out = []
    ev = r.get("event_latency")
    if ev:
        a, b = ev["from_request_start_ms"], ev["from_response_ms"]
        out += ["## Event latency: complete → inbox", "",
                f"{ev['samples']} tasks completed one after another on an otherwise idle stack; the inbox state item "
                f"(`inbox:<user id>`) polled through daprd's HTTP state API every {ev['poll_interval_ms']} ms. "
                "Path: POST complete → publish task.completed → taskboard subscriber → invoke notification-service "
                "→ publish notification.sent → taskboard subscriber → inbox.", "",
                "| measured from | p50 | p90 | p99 | max |", "|---|---:|---:|---:|---:|",
                f"| the complete POST's start | {fmt(a['p50'])} | {fmt(a['p90'])} | {fmt(a['p99'])} | {fmt(a['max'])} |",
                f"| the complete POST's response | {fmt(b['p50'])} | {fmt(b['p90'])} | {fmt(b['p99'])} | {fmt(b['max'])} |",
                "", f"Errors: {ev['errors'] or 'none'}", ""]

    return out


def memory(r: dict) -> list[str]:
    out = []
    idle, end, peak = r.get("memory_idle", {}), r.get("memory_end", {}), r.get("memory_peak_rss_mb", {})
    if idle:
        out += ["## Memory (MB)", "",
                "RSS counts every resident page a process maps, shared or not; PSS splits shared pages among their "
                "sharers (a group's PSS is what it really occupies); USS is a process's own pages (what one more "
                "gunicorn worker forked from the preloaded master costs). From `/proc/<pid>/smaps_rollup`.", "",
                "| process group | RSS idle after seeding | PSS idle | RSS peak (after each load point) "
                "| processes at the end: RSS / PSS / USS |",
                "|---|---:|---:|---:|---|"]
        for name, m in idle.items():
            procs = ", ".join(f"{p['rss_mb']} / {p.get('pss_mb', '–')} / {p.get('uss_mb', '–')} ({_short(p['cmd'])})"
                              for p in end.get(name, m)["processes"])
            out.append(f"| {name} | {fmt(m['rss_mb'])} | {fmt(m.get('pss_mb'))} | {fmt(peak.get(name))} | {procs} |")
        out.append("")
        workers = r.get("memory_peak_worker_mb", {})
        if workers:
            out += ["Largest gunicorn worker over the run (each column its own maximum):", "",
                    "| app | RSS | PSS | USS |", "|---|---:|---:|---:|"]
            out += [f"| {name} | {fmt(w['rss_mb'])} | {fmt(w['pss_mb'])} | {fmt(w['uss_mb'])} |"
                    for name, w in workers.items()]
            out.append("")

    return out


def profiles(r: dict) -> list[str]:
    sc = r.get("scenarios", {})
    out = []
    profiled = {name: e["profile"] for name, e in sc.items() if e.get("profile")}
    if profiled:
        out += ["## Where the app's CPU goes (py-spy)", "",
                "An extra point per full-stack scenario at half its calibrated capacity (not in the tables "
                "above: py-spy shares the cores), with py-spy sampling every taskboard "
                f"worker at {next(iter(profiled.values()))['rate_hz']} Hz, non-blocking. Shares are of the samples "
                "of busy threads. The stacks are in `profiles/<scenario>.collapsed` (flamegraph.pl or speedscope).", ""]
        for name, p in profiled.items():
            out += [f"**{name}** — {p['offered_rps']}/s offered, {p['samples']} samples on {p['workers']} workers"
                    + (f", {p['errors']} errors" if p["errors"] else ""), "",
                    "| self time by package | % | function (inclusive, < 90 %) | % | function (self) | % |",
                    "|---|---:|---|---:|---|---:|"]
            for i in range(max(len(p["packages"]), len(p["inclusive"]), len(p["self"]))):
                cells = []
                for col in ("packages", "inclusive", "self"):
                    item = p[col][i] if i < len(p[col]) else ["", ""]
                    cells += [f"`{item[0]}`" if item[0] else "", fmt(item[1]) if item[0] else ""]
                out.append("| " + " | ".join(cells) + " |")
            out.append("")

    return out


def load_points(r: dict) -> list[str]:
    sc = r.get("scenarios", {})
    out = []
    out += ["## Every load point", "",
            "| scenario | offered/s | achieved/s | p50 | p90 | p99 | max | errors | generator lag p99 | "
            + " | ".join(f"CPU {c}" for _, c in CPU_COLUMNS) + " |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(CPU_COLUMNS)]
    for name, e in sc.items():
        for p in e.get("points", []):
            errs = f"{p['errors']}" + (f" {p['error_kinds']}" if p["errors"] else "")
            out.append(f"| {name} | {fmt(p['offered_rps'])} | {fmt(p['achieved_rps'])} | {fmt(p['p50_ms'])} | "
                       f"{fmt(p['p90_ms'])} | {fmt(p['p99_ms'])} | {fmt(p['max_ms'])} | {errs} | "
                       f"{fmt(p['send_lag_p99_ms'])} | " + " | ".join(cpu_cells(p)) + " |")
    out.append("")
    return out


def closing(r: dict) -> list[str]:
    out = []
    seeding = r.get("seeding")
    if seeding:
        out += [f"Seeding: {seeding['users']} users registered and {sum(seeding['tasks'].values())} tasks created "
                f"through the app's forms in {seeding['seconds']} s.", ""]
    out += ["## Failures", ""]
    out += [f"- {f}" for f in r.get("failures", [])] or ["None."]
    out += ["", "## Warnings", ""]
    out += [f"- {w}" for w in r.get("warnings", [])] or ["None."]
    out.append("")
    return out


def _short(cmd: str) -> str:
    if "gunicorn" in cmd:
        return "gunicorn"
    return cmd.split(" ")[0].rsplit("/", 1)[-1][:30]
