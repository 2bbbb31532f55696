"""results.json → results.md (tables) and latency.png (latency vs offered load)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

CPU_COLUMNS = [("taskboard", "app"), ("daprd-taskboard", "daprd"), ("notification-service", "notif"),
               ("daprd-notification-service", "notif daprd"), ("redis", "redis"), ("variants", "variants"),
               ("load generator", "loadgen"), ("others", "other procs"), ("machine", "machine")]
MAX_ERROR_RATE = 0.01
KEPT_UP_P99_MS = 500.0
GEN_BOUND = 80.0  # % of a core: above it the Python load generator, not the system, may be the limit


def sustained(entry: dict) -> dict | None:
    """The point with the highest achieved throughput among those with < 1% errors."""
    good = [p for p in entry.get("points", []) if p["scheduled"] and p["errors"] / p["scheduled"] < MAX_ERROR_RATE]
    return max(good, key=lambda p: p["achieved_rps"]) if good else None


def served_in_full(p: dict) -> bool:
    """The point's offered rate was achieved (≥ 97%): below it the stack was overloaded."""
    return p["achieved_rps"] >= 0.97 * p["offered_rps"]


def _kept(p: dict) -> bool:
    return (p["scheduled"] and p["errors"] / p["scheduled"] < MAX_ERROR_RATE and served_in_full(p)
            and (p["p99_ms"] or 1e9) <= KEPT_UP_P99_MS)


def kept_up(entry: dict) -> dict | None:
    """The highest offered rate served in full: ≥ 97% achieved, < 1% errors, p99 ≤ 500 ms."""
    good = [p for p in entry.get("points", []) if _kept(p)]
    return max(good, key=lambda p: p["offered_rps"]) if good else None


def cpu_ms_per_op(entry: dict) -> float | None:
    """The stack's CPU per operation: machine CPU less the load generator and unrelated processes, in ms,
    the median over the points kept up with (all their work, events included, done at the offered rate).

    On these 2 shared cores this is the steadier measure of cost: a throughput is one point of a coarse
    load grid (25 / 50 / 80 / 110% of a calibration), while every kept-up point gives a CPU-per-op figure.
    """
    costs = sorted((p["cpu_percent"]["machine"] - p["cpu_percent"].get("load generator", 0)
                    - p["cpu_percent"].get("others", 0)) * 10 / p["achieved_rps"]
                   for p in entry.get("points", []) if p["achieved_rps"] and _kept(p))
    return costs[len(costs) // 2] if costs else None


def light(entry: dict) -> dict | None:
    """The lightest-load point (about 25% of capacity): latency without queueing."""
    points = entry.get("points", [])
    return min(points, key=lambda p: p["offered_rps"]) if points else None


def near(entry: dict, fraction: float) -> dict | None:
    points = entry.get("points", [])
    return min(points, key=lambda p: abs(p.get("fraction_of_calibration", 0) - fraction)) if points else None


def fmt(v, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def ratio(a, b, digits: int = 2) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.{digits}f}×"


def cpu_cells(point: dict | None) -> list[str]:
    cpu = (point or {}).get("cpu_percent", {})
    return [fmt(cpu.get(k)) for k, _ in CPU_COLUMNS]


def _throughput_ratio(sc: dict, a: str, b: str) -> float | None:
    sa, sb = sustained(sc[a]) if a in sc else None, sustained(sc[b]) if b in sc else None
    return sa["achieved_rps"] / sb["achieved_rps"] if sa and sb and sb["achieved_rps"] else None


def _efficiency_ratio(sc: dict, a: str, b: str) -> float | None:
    """Operations per CPU-second of a over those of b (b's CPU per op ÷ a's)."""
    ca, cb = (cpu_ms_per_op(sc[a]) if a in sc else None), (cpu_ms_per_op(sc[b]) if b in sc else None)
    return cb / ca if ca and cb else None


def targets(r: dict) -> list[str]:
    """The issue's targets next to what this run reached."""
    sc = r.get("scenarios", {})
    rows = []

    def add(target: str, reached: str, ok: bool | None) -> None:
        rows.append(f"| {target} | {reached} | {'–' if ok is None else ('met' if ok else '**missed**')} |")

    def at_least(value: float | None, goal: float, unit: str = "×") -> tuple[str, bool | None]:
        return ("–", None) if value is None else (f"{value:.2f}{unit}", value >= goal)

    def throughput(a: str, b: str, goal: float) -> tuple[str, bool | None]:
        reached, ok = at_least(_throughput_ratio(sc, a, b), goal)
        per_cpu = _efficiency_ratio(sc, a, b)
        return (reached + (f" (per CPU-second {per_cpu:.2f}×)" if per_cpu else "")), ok

    add("create ≥ 60% of raw sidecar throughput (page-create ÷ sidecar-create)",
        *throughput("page-create", "sidecar-create", 0.6))
    add("reused client ≥ 3× the per-request client (create throughput)",
        *throughput("variant-create-reused", "variant-create-percall", 3.0))
    lo = light(sc["page-list1000"]) if "page-list1000" in sc else None
    calls = (r.get("calls_per_page") or {}).get("list1000", {}).get("sidecar_api_calls")
    add("list of 1,000 tasks: p50 ≤ 40 ms (at ~25% load)",
        f"{lo['p50_ms']:.1f} ms" if lo else "–", None if not lo else lo["p50_ms"] <= 40)
    add("list of 1,000 tasks: ≤ 3 sidecar round trips per page",
        f"{calls:.2f}" if calls is not None else "–", None if calls is None else calls <= 3.0)
    for n in ("100", "1000"):
        add(f"list data of {n} tasks through Dapr ≥ 0.8× direct Redis (throughput)",
            *throughput(f"variant-list{n}-reused", f"variant-list{n}-redis", 0.8))
    ev = (r.get("event_latency") or {}).get("from_request_start_ms")
    add("event latency complete → inbox: p99 ≤ 1 s", f"{ev['p99']:.0f} ms" if ev else "–",
        None if not ev else ev["p99"] <= 1000)
    worker = (r.get("memory_peak_worker_mb") or {}).get("taskboard")
    add("taskboard gunicorn worker ≤ 80 MB (largest, RSS; PSS / USS in brackets)",
        f"{worker['rss_mb']:.1f} MB ({worker['pss_mb']:.1f} / {worker['uss_mb']:.1f})" if worker else "–",
        None if not worker else worker["rss_mb"] <= 80)
    return ["", "## Targets", "", "| target (issue 7) | this run | |", "|---|---:|---|", *rows]


def build_markdown(r: dict) -> str:
    sc = r.get("scenarios", {})
    env = r.get("environment", {})
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

    out += targets(r)
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

    row("full stack ÷ raw sidecar: create (page-create ÷ sidecar-create)", "page-create", "sidecar-create")
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

    if cpp:
        out += ["## Sidecar calls per list page", "",
                "Counted from daprd's metrics endpoint (`dapr_grpc_io_server_completed_rpcs`, "
                "`dapr_http_server_request_count`, `dapr_component_state_count`) and Redis `INFO commandstats`, "
                "before and after 20 list pages of one user, divided by 20; the least of three such windows, since "
                "background work (the `relay` binding every 10 s, the sweep) can only add calls to a window.", "",
                "| tasks | sidecar API calls per page | by method (incl. state-store operations) | Redis commands per page |",
                "|---:|---:|---|---|"]
        for v in cpp.values():
            by = ", ".join(f"{k}: {fmt(x, 2)}" for k, x in v["by_method"].items())
            rc = ", ".join(f"{k}: {fmt(x, 2)}" for k, x in v["redis_commands"].items())
            out.append(f"| {v['tasks']} | {fmt(v['sidecar_api_calls'], 2)} | {by} | {rc} |")
        out.append("")

    cpw = r.get("calls_per_write")
    if cpw:
        out += ["## Sidecar calls per create and per complete", "",
                "20 creates (then 20 completes of those tasks) one after another through the forms; counters read "
                "before and after, once every event they caused was handled (subscribers, notification-service), "
                "so the numbers include the event handling, not only the request.", "",
                "| operation | taskboard sidecar API calls | notification-service sidecar API calls | by method | "
                "Redis commands |", "|---|---:|---:|---|---|"]
        for op, v in cpw.items():
            by = ", ".join(f"{k}: {fmt(x, 2)}" for k, x in v["by_method"].items())
            rc = ", ".join(f"{k}: {fmt(x, 2)}" for k, x in v["redis_commands"].items())
            out.append(f"| {op} | {fmt(v['sidecar_api_calls'], 2)} | {fmt(v.get('notification_sidecar_api_calls'), 2)} | "
                       f"{by} | {rc} |")
        out.append("")

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
    seeding = r.get("seeding")
    if seeding:
        out += [f"Seeding: {seeding['users']} users registered and {sum(seeding['tasks'].values())} tasks created "
                f"through the app's forms in {seeding['seconds']} s.", ""]
    out += ["## Failures", ""]
    out += [f"- {f}" for f in r.get("failures", [])] or ["None."]
    out += ["", "## Warnings", ""]
    out += [f"- {w}" for w in r.get("warnings", [])] or ["None."]
    out.append("")
    return "\n".join(out)


def _short(cmd: str) -> str:
    if "gunicorn" in cmd:
        return "gunicorn"
    return cmd.split(" ")[0].rsplit("/", 1)[-1][:30]


def plot(r: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("limit", "Raw sidecar (daprd HTTP, no Flask)"), ("full stack", "Full stack (gunicorn + Flask + daprd)"),
              ("variants-create", "Create: per-request vs reused DaprClient vs redis-py"),
              ("variants-list", "List data path: Dapr vs redis-py")]
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    for ax, (key, title) in zip(axes.flat, panels):
        for i, (name, e) in enumerate(r.get("scenarios", {}).items()):
            group = e.get("group")
            if group == "variants":
                group = "variants-create" if "create" in name else "variants-list"
            if group != key or not e.get("points"):
                continue
            pts = sorted(e["points"], key=lambda p: p["offered_rps"])
            x = [p["offered_rps"] for p in pts]
            color = f"C{i % 10}"
            ax.plot(x, [p["p50_ms"] for p in pts], "o-", color=color, label=f"{name} p50")
            ax.plot(x, [p["p99_ms"] for p in pts], "s--", color=color, alpha=0.7, label=f"{name} p99")
            for p in pts:
                if p["errors"]:
                    ax.annotate(f"{p['errors']} err", (p["offered_rps"], p["p99_ms"] or 1), fontsize=7, color=color)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("offered load (operations/s, log)")
        ax.set_ylabel("latency from scheduled start (ms, log)")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    env = r.get("environment", {})
    fig.suptitle(f"Taskboard latency vs offered load — {env.get('cpus')} CPUs, daprd {env.get('daprd')}, "
                 f"gunicorn {env.get('gunicorn')}, {env.get('point_seconds')} s per point "
                 f"(solid p50, dashed p99)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict, out: Path) -> None:
    (out / "results.md").write_text(build_markdown(results))
    plot(results, out / "latency.png")


if __name__ == "__main__":
    # Re-render from an existing results.json: python bench/report.py [bench/results]
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results"
    write(json.loads((target / "results.json").read_text()), target)
