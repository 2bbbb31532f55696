"""The pure part of `make bench-boards` (bench/boards_actors.py): one run's figures from its raw samples, the
median and range over runs, the actor/optimistic ratios, and the markdown table. No I/O, no stack."""

from __future__ import annotations

import statistics
from collections import Counter

PATHS = ("actor", "optimistic")
# What the table shows per scenario and path: (key in a run's figures, label, format).
ROWS = (
    ("p50_ms", "move p50 (ms)", "{:.0f}"),
    ("p95_ms", "move p95 (ms)", "{:.0f}"),
    ("p99_ms", "move p99 (ms)", "{:.0f}"),
    ("client_409", "client 409s (re-read and retry)", "{:.0f}"),
    ("client_503", "client 503s", "{:.0f}"),
    ("server_retries", "server-side conflict retries", "{:.0f}"),
    ("index_row_retries", "of which on the board's index (request or actor turn)", "{:.0f}"),
    ("server_give_ups", "server-side give-ups (exhausted)", "{:.0f}"),
    ("actor_turns", "board actor turns", "{:.0f}"),
    ("actor_fallbacks", "board actor fallbacks (optimistic after 2 s)", "{:.0f}"),
    ("sidecar_calls_per_move", "taskboard sidecar API calls per move", "{:.1f}"),
    ("cpu_ms_per_move", "CPU per move (ms, stack processes)", "{:.0f}"),
    ("moves_per_second", "moves stored per second", "{:.1f}"),
    ("lost_updates", "lost updates", "{:.0f}"),
)
INDEX_LOOPS = ("index rows", "board actor turn")  # the index-row loops of the optimistic path and of a turn


def index_row_retries(server: dict[str, float]) -> int:
    """The retries of the loops that write a board's index rows (``server``: ``"<loop>: <outcome>"`` counts)."""
    return int(sum(v for k, v in server.items() if k in {f"{loop}: retried" for loop in INDEX_LOOPS}))


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (1-99) of ``values``, linearly interpolated (0.0 for none)."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def counter_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What each counter added between two scrapes (counters that did not move are left out)."""
    return {key: after[key] - before.get(key, 0.0) for key in after if after[key] - before.get(key, 0.0)}


def run_figures(took: list[float], outcomes: Counter, moves_stored: int, server: dict[str, float],
                sidecar_calls: float, cpu_seconds: float, elapsed: float, lost: int) -> dict:
    """One scenario run's figures: latency percentiles of the moves (seconds in, ms out), the answers, the
    server's retries (keys ``"<loop>: retried|exhausted"``) and actor calls (``"board actor: turn|fallback"``),
    and the per-move costs."""
    per_move = max(moves_stored, 1)
    return {
        "moves": len(took), "moves_stored": moves_stored,
        "p50_ms": round(percentile(took, 50) * 1000, 1), "p95_ms": round(percentile(took, 95) * 1000, 1),
        "p99_ms": round(percentile(took, 99) * 1000, 1),
        "client_409": outcomes.get(409, 0), "client_503": outcomes.get(503, 0),
        "server_retries": int(sum(v for k, v in server.items() if k.endswith(": retried"))),
        "index_row_retries": index_row_retries(server),
        "server_give_ups": int(sum(v for k, v in server.items() if k.endswith(": exhausted"))),
        "actor_turns": int(server.get("board actor: turn", 0)),
        "actor_fallbacks": int(server.get("board actor: fallback", 0)),
        "sidecar_calls_per_move": round(sidecar_calls / per_move, 2),
        "cpu_ms_per_move": round(cpu_seconds * 1000 / per_move, 1),
        "moves_per_second": round(moves_stored / elapsed, 2) if elapsed else 0.0,
        "lost_updates": lost,
    }


def spread(values: list[float]) -> dict:
    """Median, least and most of one figure over the runs."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def summarise(runs: list[dict]) -> dict[str, dict[str, dict[str, dict]]]:
    """{stack: {scenario: {path: {figure: spread}}}} over the runs that finished (``runs``: each with stack,
    scenario, path and figures)."""
    grouped: dict[tuple[str, str, str], list[dict]] = {}
    for run in runs:
        if run.get("figures"):
            grouped.setdefault((run["stack"], run["scenario"], run["path"]), []).append(run["figures"])
    out: dict = {}
    for (stack, scenario, path), figures in grouped.items():
        out.setdefault(stack, {}).setdefault(scenario, {})[path] = {
            key: spread([f[key] for f in figures]) for key, _, _ in ROWS}
    return out


def ratio(summary: dict[str, dict], key: str) -> float | None:
    """The actor path's median over the optimistic path's for one figure (None when either is missing or 0)."""
    actor, optimistic = summary.get("actor", {}).get(key), summary.get("optimistic", {}).get(key)
    if not actor or not optimistic or not optimistic["median"]:
        return None
    return actor["median"] / optimistic["median"]


def cell(value: dict | None, fmt: str) -> str:
    """``median (min–max)``, or the median alone when all runs agree."""
    if value is None:
        return "–"
    median = fmt.format(value["median"])
    low, high = fmt.format(value["min"]), fmt.format(value["max"])
    return median if low == high else f"{median} ({low}–{high})"


def render_table(scenario_summary: dict[str, dict]) -> list[str]:
    """One scenario's markdown table: a row per figure, a column per path, and the actor/optimistic ratio."""
    lines = ["| | actor | optimistic | actor / optimistic |", "|---|---|---|---|"]
    runs = [str(scenario_summary.get(path, {}).get("p50_ms", {}).get("runs", 0)) for path in PATHS]
    lines.append(f"| runs finished | {runs[0]} | {runs[1]} | |")
    for key, label, fmt in ROWS:
        found = ratio(scenario_summary, key)
        shown = f"{found:.2f}x" if found is not None else "–"
        lines.append(f"| {label} | {cell(scenario_summary.get('actor', {}).get(key), fmt)} | "
                     f"{cell(scenario_summary.get('optimistic', {}).get(key), fmt)} | {shown} |")
    return lines


def verdicts(summary: dict[str, dict[str, dict[str, dict]]], busy: str, single: str) -> list[str]:
    """The issue's targets, per stack, on the medians: at ``busy`` (1 board x 50 writers) the actor path's p99
    <= 1 s, no give-ups (in any run) and no lost update (in any run); at ``single`` its p50 <= 1.2x optimistic."""
    lines = []
    for stack, scenarios in summary.items():
        actor = scenarios.get(busy, {}).get("actor")
        if actor:
            p99 = actor["p99_ms"]["median"]
            lines.append(f"- {stack}, {busy}, actor: p99 {p99:.0f} ms (target <= 1000 ms: "
                         f"{'met' if p99 <= 1000 else 'MISSED'}); server-side give-ups max "
                         f"{actor['server_give_ups']['max']:.0f} ({'met' if actor['server_give_ups']['max'] == 0 else 'MISSED'}); "
                         f"lost updates max {actor['lost_updates']['max']:.0f} "
                         f"({'met' if actor['lost_updates']['max'] == 0 else 'MISSED'})")
        found = ratio(scenarios.get(single, {}), "p50_ms")
        if found is not None:
            lines.append(f"- {stack}, {single}: actor p50 / optimistic p50 = {found:.2f}x (target <= 1.2x: "
                         f"{'met' if found <= 1.2 else 'MISSED'})")
    return lines


SCENARIO_LABELS = {"1x50": "1 board x 50 writers", "10x5": "10 boards x 5 writers", "1x1": "1 board x 1 writer"}


def load_rows(records: list[dict]) -> list[str]:
    """Each started stack: its start time, the load average before it started, before/after each scenario, after."""
    lines = ["| stack | run | path | start (s) | load before start | per scenario: load before → after | "
             "load after stop |", "|---|---|---|---|---|---|---|"]
    for r in records:
        per = "; ".join(f"{s['scenario']} {s.get('load_before', '?')} → {s.get('load_after', '?')}"
                        + (f" ({s['error']})" if "error" in s else "") for s in r.get("scenarios", []))
        lines.append(f"| {r['stack']} | {r['run']} | {r['path']} | {r.get('start_s', '–')} | "
                     f"{r.get('load_before_start', '–')} | {per or r.get('error', '')} | {r.get('load_after', '–')} |")
    return lines


def render_markdown(env: dict, seed: int, summary: dict, records: list[dict]) -> str:
    """bench/results/boards-actors.md: the targets, a table per stack and scenario, the load of every run."""
    lines = ["# A shared board's write paths side by side: board actor vs optimistic (`make bench-boards`)", "",
             f"Run {env['date']} at {env['git_commit']}, seed {seed} (`--seed {seed}` replays the task choices); "
             f"{env['runs']} run(s) per path and stack, {env['moves_per_writer']} moves per writer; "
             f"{env['cpus']} cores shared with other agents' work (see the load averages: compare ratios, not "
             f"absolute times); taskboard on {env['gunicorn']}; {env['path_switch']}; the path order alternates "
             f"run by run. Cells: median of the runs (min–max).", "",
             "## Against the issue's targets", ""]
    lines += verdicts(summary, "1x50", "1x1") or ["- no finished run"]
    for stack, scenarios in summary.items():
        lines += ["", f"## {stack}"]
        for name in SCENARIO_LABELS:
            if name in scenarios:
                lines += ["", f"### {SCENARIO_LABELS[name]}", "", *render_table(scenarios[name])]
    failures = [f"- {r['stack']} run {r['run']} {r['path']} {s['scenario']} (seed {s.get('seed')}): "
                f"{s.get('error') or ''} {'; '.join(s.get('lost', [])[:5])} {s.get('dead_processes') or ''} "
                f"logs {r.get('logs')}"
                for r in records for s in r.get("scenarios", [])
                if s.get("error") or s.get("lost") or s.get("dead_processes")]
    failures += [f"- {r['stack']} run {r['run']} {r['path']}: {r['error']}" for r in records if r.get("error")]
    if failures:
        lines += ["", "## Failures and lost updates", "", *failures]
    lines += ["", "## Load average of every run", "", *load_rows(records), "", "## How it is measured", "",
              "- A move: read the task page for its version, post the move, on 409 (another writer moved it) read "
              "again and retry; its time includes the retries. Each board has 2 tasks per writer (at least 10).",
              "- Server-side retries and give-ups: `taskboard_conflict_retries_total` (outcome retried / exhausted, "
              "every loop); actor turns and fallbacks: `taskboard_board_actor_calls_total` (the app's metrics port).",
              "- Sidecar calls: taskboard's API calls to its daprd (`dapr_grpc_io_server_completed_rpcs` + "
              "`dapr_http_server_request_count` of its daprd), page reads, retries, actor calls, actor turns' "
              "own calls and event handling included; CPU: utime + stime from /proc of both apps' gunicorn "
              "(master and workers), both daprd, scheduler, placement and the data servers. Both counted from the "
              "first move until the events are delivered (pub/sub counters still for 1 s), divided by the moves "
              "stored.",
              "- Lost update: a task whose revision is not 1 + its moves answered 302, or whose index row (read "
              "through the API's board listing) carries another revision, 30 s after the events were delivered.",
              f"- Machine: {env['platform']}, Python {env['python']}; load generator: {env['load_generator']}."]
    return "\n".join(lines) + "\n"
