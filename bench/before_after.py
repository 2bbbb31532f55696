"""results.md sections of issue 17: its targets, and this run side by side with the baseline stack (after ÷ before)."""

from __future__ import annotations

from summaries import cpu_ms_per_op, fmt, light, ratio, sustained

BASELINE_SCENARIOS = ("page-create", "page-complete", "page-list1000")


def _calls(r: dict, op: str, side: str = "sidecar_api_calls") -> float | None:
    return ((r.get("calls_per_write") or {}).get(op) or {}).get(side)


def _chain(r: dict, op: str) -> float | None:
    """Calls of an operation with its event handling, on both sidecars."""
    a, b = _calls(r, op), _calls(r, op, "notification_sidecar_api_calls")
    return None if a is None else a + (b or 0)


def _page_calls(r: dict, key: str) -> float | None:
    return ((r.get("calls_per_page") or {}).get(key) or {}).get("sidecar_api_calls")


def _ratio_of(sc_a: dict, sc_b: dict, name_a: str, name_b: str) -> tuple[float | None, float | None]:
    """(throughput ratio, ops per CPU-second ratio) of scenario a over scenario b."""
    ea, eb = sc_a.get(name_a), sc_b.get(name_b)
    if not ea or not eb:
        return None, None
    sa, sb = sustained(ea), sustained(eb)
    through = sa["achieved_rps"] / sb["achieved_rps"] if sa and sb and sb["achieved_rps"] else None
    ca, cb = cpu_ms_per_op(ea), cpu_ms_per_op(eb)
    return through, (cb / ca if ca and cb else None)


def counter_rows() -> list:
    """(label, function of a run's results) of every sidecar-call counter."""
    return [
        ("create, in the request (second least of 30)", lambda x: _calls(x, "create_in_request")),
        ("create with its task.created handling: taskboard's sidecar", lambda x: _calls(x, "create")),
        ("create with its handling: notification-service's sidecar",
         lambda x: _calls(x, "create", "notification_sidecar_api_calls")),
        ("complete chain to the inbox: taskboard's sidecar", lambda x: _calls(x, "complete")),
        ("complete chain to the inbox: notification-service's sidecar",
         lambda x: _calls(x, "complete", "notification_sidecar_api_calls")),
        ("complete chain to the inbox: both", lambda x: _chain(x, "complete")),
        *[(f"list page of {n} tasks", lambda x, k=f"list{n}": _page_calls(x, k)) for n in (10, 100, 1000)],
    ]


def targets(r: dict) -> list[str]:
    """Issue 17's targets next to what this run reached."""
    sc, base = r.get("scenarios", {}), r.get("baseline") or {}
    rows = []

    def add(target: str, value: float | None, ok, shown: str | None = None) -> None:
        verdict = "–" if value is None else ("met" if ok(value) else "**missed**")
        rows.append(f"| {target} | {shown if shown is not None else fmt(value, 2)} | {verdict} |")

    def both(through: float | None, per_cpu: float | None) -> str:
        return f"{fmt(through, 2)}× throughput, {fmt(per_cpu, 2)}× per CPU-second"

    add("create: ≤ 3 sidecar calls in the request", _calls(r, "create_in_request"), lambda v: v <= 3)
    add("create: ≤ 5 sidecar calls with its event handling (both sidecars)", _chain(r, "create"), lambda v: v <= 5)
    add("completion chain to the inbox: ≤ 10 sidecar calls in total (both sidecars)", _chain(r, "complete"),
        lambda v: v <= 10)
    through, per_cpu = _ratio_of(sc, sc, "page-create", "sidecar-limit")
    add("page-create ≥ 0.5× the one-transaction limit's throughput (page-create ÷ sidecar-limit)", through,
        lambda v: v >= 0.5, both(through, per_cpu))
    through, per_cpu = _ratio_of(sc, base.get("scenarios", {}), "page-create", "page-create")
    add(f"page-create ≥ 1.3× per CPU-second of the baseline's ({base.get('rev', 'no baseline')})", per_cpu,
        lambda v: v >= 1.3, both(through, per_cpu))
    add("list page of 1,000 tasks: 1 sidecar call without search", _page_calls(r, "list1000"), lambda v: v <= 1)
    through, per_cpu = _ratio_of(sc, sc, "variant-list1000-reused", "variant-list1000-redis")
    add("list data of 1,000 tasks: Dapr ÷ direct Redis ≥ 0.8× (throughput)", through, lambda v: v >= 0.8,
        both(through, per_cpu))
    worker = (r.get("memory_peak_worker_mb") or {}).get("taskboard")
    add("largest taskboard gunicorn worker ≤ 75 MB RSS (PSS / USS in brackets)", worker and worker["rss_mb"],
        lambda v: v <= 75, worker and f"{worker['rss_mb']:.1f} MB ({worker['pss_mb']:.1f} / {worker['uss_mb']:.1f})")
    rows.append("| the fault suite's invariants hold (0 lost, 0 twice, never a 500) | not measured here: "
                "`tests/faults` | – |")
    return ["", "## Targets of issue 17", "", "| target | this run | |", "|---|---:|---|", *rows]


def before_after(r: dict) -> list[str]:
    """This run's stack beside the baseline stack's (the code of an earlier commit), same run, same machine."""
    base = r.get("baseline")
    if not base:
        return []
    sc, bsc = r.get("scenarios", {}), base.get("scenarios", {})
    env = base.get("environment", {})
    out = ["## After ÷ before: this code beside the baseline's, in one run", "",
           f"The baseline is commit `{base.get('rev')}` ({env.get('git_commit', '?')}), started from `git archive` "
           f"on a second stack after this one (same settings, same seeding, {base.get('runtime_s')} s); "
           f"its failures: {'; '.join(base.get('failures', [])) or 'none'}.", "",
           "| scenario | throughput before / after ops/s | after ÷ before | stack CPU ms/op before / after | "
           "ops per CPU-second after ÷ before | p50 @25% before / after ms |", "|---|---:|---:|---:|---:|---:|"]
    for name in BASELINE_SCENARIOS:
        ea, eb = sc.get(name) or {}, bsc.get(name) or {}
        sa, sb, la, lb = sustained(ea), sustained(eb), light(ea), light(eb)
        through, per_cpu = _ratio_of(sc, bsc, name, name)
        out.append(f"| {name} | {fmt(sb and sb['achieved_rps'])} / {fmt(sa and sa['achieved_rps'])} | "
                   f"{fmt(through, 2)}× | {fmt(cpu_ms_per_op(eb), 2)} / {fmt(cpu_ms_per_op(ea), 2)} | "
                   f"{fmt(per_cpu, 2)}× | {fmt(lb and lb['p50_ms'])} / {fmt(la and la['p50_ms'])} |")
    out += ["", "Sidecar API calls (daprd metrics; the notification-service sidecar's separately):", "",
            "| counted | before | after |", "|---|---:|---:|"]
    out += [f"| {label} | {fmt(get(base), 2)} | {fmt(get(r), 2)} |" for label, get in counter_rows()]
    wa = (r.get("memory_peak_worker_mb") or {}).get("taskboard") or {}
    wb = (base.get("memory_peak_worker_mb") or {}).get("taskboard") or {}
    out += ["", "Largest taskboard gunicorn worker over each stack's run (MB):", "",
            "| | before | after | after ÷ before |", "|---|---:|---:|---:|"]
    out += [f"| {k.removesuffix('_mb').upper()} | {fmt(wb.get(k))} | {fmt(wa.get(k))} | "
            f"{ratio(wa.get(k), wb.get(k))} |" for k in ("rss_mb", "pss_mb", "uss_mb")]
    return out + [""]
