"""results.md section of the app CPU per request (bench/app_cpu.py): this code, the baseline, the floor."""

from __future__ import annotations

from app_cpu import FLOOR, SCENARIOS
from before_after import _ratio_of
from summaries import fmt

# issue 26's targets: app CPU of this code ÷ the baseline's (at most), and the floor ratio it aims at
TARGETS = {"page-list10": 0.4, "page-list1000": 0.5, "page-board": 0.5}
CHANGES_MS = 1.0  # /changes answered 304: at most this many ms of app CPU
CREATE_VS_LIMIT = 0.35  # page-create's throughput ÷ the one-transaction limit's (sidecar-limit), at least
FLOOR_GOAL = 1.5


def _ms(r: dict, name: str) -> float | None:
    return (((r or {}).get("app_cpu") or {}).get("scenarios") or {}).get(name, {}).get("ms_per_request")


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def app_cpu(r: dict) -> list[str]:
    """The table: per scenario, ms of app CPU per request now, in the baseline, and the ratios."""
    if not r.get("app_cpu"):
        return []
    base = r.get("baseline") or {}
    rev = base.get("rev", "no baseline")
    floor = _ms(r, FLOOR)
    out = ["## App CPU per request (the taskboard gunicorn workers alone)", "",
           f"CPU time (utime + stime, /proc) of the taskboard gunicorn workers over {r['app_cpu']['rounds']} rounds of "
           f"closed-loop requests ({r['app_cpu']['concurrency']} clients, about 3 s each), ÷ the requests; the median "
           "round. Not daprd, Redis or the master; writes include the app's handling of their events (which runs in "
           f"the same workers). *Floor*: {SCENARIOS[FLOOR]}. The baseline is commit `{rev}`, measured the same way "
           "on a second stack in this run.", "",
           "*÷ baseline (floor-scaled)* divides each side by the floor measured on its own stack first: the two "
           "stacks run minutes apart, and on a shared machine the same code's CPU per request moves with the load "
           "(cache and frequency); the floor, the same code on both, measures by how much. The targets use it when "
           "both floors were measured.", "",
           f"| scenario | this code ms | baseline ({rev}) ms | ÷ baseline | ÷ baseline (floor-scaled) | ÷ floor | "
           "target | |",
           "|---|---:|---:|---:|---:|---:|---|---|"]
    base_floor = _ms(base, FLOOR)
    for name in SCENARIOS:
        now, before = _ms(r, name), _ms(base, name)
        if now is None and before is None:
            continue
        raw = _div(now, before)
        scaled = _div(_div(now, floor), _div(before, base_floor))
        vs_base = scaled if scaled is not None else raw
        if name in TARGETS:
            target, ok = f"≤ {TARGETS[name]}× baseline", vs_base is not None and vs_base <= TARGETS[name]
        elif name == "changes-304":
            target, ok = f"≤ {CHANGES_MS:g} ms", now is not None and now <= CHANGES_MS
        else:
            target, ok = "", None
        verdict = "" if ok is None else ("met" if ok else "**missed**")
        out.append(f"| {name} | {fmt(now, 2)} | {fmt(before, 2)} | {fmt(raw, 2)}× | {fmt(scaled, 2)}× | "
                   f"{fmt(_div(now, floor), 2)}× | {target} | {verdict} |")
    wa = ((r.get("memory_peak_worker_mb") or {}).get("taskboard") or {}).get("rss_mb")
    wb = ((base.get("memory_peak_worker_mb") or {}).get("taskboard") or {}).get("rss_mb")
    sc = r.get("scenarios", {})
    through, per_cpu = _ratio_of(sc, sc, "page-create", "sidecar-limit")
    verdict = "–" if through is None else ("met" if through >= CREATE_VS_LIMIT else "**missed**")
    out += ["", f"page-create ÷ sidecar-limit (the one-transaction limit): {fmt(through, 2)}× throughput, "
            f"{fmt(per_cpu, 2)}× per CPU-second (target ≥ {CREATE_VS_LIMIT}× throughput): {verdict}.",
            "", f"Largest taskboard worker over the run, RSS: {fmt(wa)} MB (baseline {fmt(wb)} MB; target ≤ 70 MB): "
            f"{'–' if wa is None else ('met' if wa <= 70 else '**missed**')}. Goal: every page within {FLOOR_GOAL}× "
            "the floor.", ""]
    return out
