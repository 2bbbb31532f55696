"""The pure part of `make bench-boards` (bench/boards_actors_report.py): percentiles, one run's figures, the
median and range over runs, the ratios and the markdown table."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from boards_actors_report import (  # noqa: E402
    cell, counter_delta, percentile, ratio, render_markdown, render_table, run_figures, summarise, verdicts)


def test_percentiles_interpolate_between_the_samples():
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 50) == 50.5
    assert round(percentile(values, 99), 2) == 99.01
    assert percentile([0.3], 99) == 0.3 and percentile([], 50) == 0.0


def test_a_counter_delta_leaves_out_what_did_not_move():
    before = {"task change: retried": 3.0, "board actor: turn": 10.0}
    after = {"task change: retried": 3.0, "board actor: turn": 25.0, "index row: exhausted": 1.0}
    assert counter_delta(before, after) == {"board actor: turn": 15.0, "index row: exhausted": 1.0}


def test_a_runs_figures_split_retries_give_ups_and_actor_calls_and_divide_costs_by_stored_moves():
    server = {"index rows: retried": 7, "task change: retried": 2, "index rows: exhausted": 1,
              "board actor turn: retried": 3, "board actor: turn": 95, "board actor: fallback": 5}
    figures = run_figures([0.1, 0.2, 0.3, 0.4], Counter({302: 4, 409: 3}), 4, server, sidecar_calls=42.0,
                          cpu_seconds=2.0, elapsed=2.0, lost=0)
    assert figures["p50_ms"] == 250.0 and figures["client_409"] == 3 and figures["client_503"] == 0
    assert (figures["server_retries"], figures["server_give_ups"]) == (12, 1)
    assert figures["index_row_retries"] == 10  # the optimistic path's index loop and the actor turn's
    assert (figures["actor_turns"], figures["actor_fallbacks"]) == (95, 5)
    assert figures["sidecar_calls_per_move"] == 10.5 and figures["cpu_ms_per_move"] == 500.0
    assert figures["moves_per_second"] == 2.0


def run(stack, scenario, path, p50, give_ups=0, lost=0):
    figures = run_figures([p50 / 1000] * 3, Counter({302: 3}), 3, {"x: exhausted": give_ups}, 30, 0.3, 1.0, lost)
    return {"stack": stack, "scenario": scenario, "path": path, "figures": figures}


def test_the_summary_is_the_median_and_range_per_stack_scenario_and_path_and_skips_failed_runs():
    runs = [run("redis", "1x1", "actor", p) for p in (30, 10, 20)] + [run("redis", "1x1", "optimistic", 10)]
    runs.append({"stack": "redis", "scenario": "1x1", "path": "actor", "error": "boom"})
    summary = summarise(runs)
    actor = summary["redis"]["1x1"]["actor"]["p50_ms"]
    assert (actor["median"], actor["min"], actor["max"], actor["runs"]) == (20.0, 10.0, 30.0, 3)
    assert ratio(summary["redis"]["1x1"], "p50_ms") == 2.0
    assert ratio(summary["redis"]["1x1"], "lost_updates") is None  # 0 on the optimistic path: no ratio


def test_a_cell_shows_the_range_only_when_the_runs_differ():
    assert cell({"median": 20.0, "min": 10.0, "max": 30.0}, "{:.0f}") == "20 (10–30)"
    assert cell({"median": 2.0, "min": 2.0, "max": 2.0}, "{:.0f}") == "2"
    assert cell(None, "{:.0f}") == "–"


def test_the_table_has_a_row_per_figure_with_both_paths_and_the_ratio():
    summary = summarise([run("redis", "1x50", "actor", 300), run("redis", "1x50", "optimistic", 600)])
    table = render_table(summary["redis"]["1x50"])
    assert table[0] == "| | actor | optimistic | actor / optimistic |"
    assert "| move p50 (ms) | 300 | 600 | 0.50x |" in table
    assert table[2] == "| runs finished | 1 | 1 | |"


def test_the_verdicts_name_each_target_met_or_missed():
    summary = summarise([run("redis", "1x50", "actor", 1200, give_ups=2), run("redis", "1x1", "actor", 110),
                         run("redis", "1x1", "optimistic", 100)])
    lines = verdicts(summary, "1x50", "1x1")
    assert "p99 1200 ms (target <= 1000 ms: MISSED)" in lines[0]
    assert "give-ups max 2 (MISSED)" in lines[0] and "lost updates max 0 (met)" in lines[0]
    assert "1.10x (target <= 1.2x: met)" in lines[1]


def test_the_markdown_lists_failed_runs_with_their_seed_and_every_runs_load():
    env = {"date": "d", "git_commit": "abc", "runs": 1, "moves_per_writer": 2, "cpus": 2, "gunicorn": "2 x 8",
           "path_switch": "fresh stacks", "platform": "linux", "python": "3", "load_generator": "aiohttp"}
    records = [{"stack": "redis", "path": "actor", "run": 1, "start_s": 9.0, "load_before_start": 1.5,
                "load_after": 2.5, "logs": "/tmp/logs",
                "scenarios": [{"scenario": "1x1", "seed": 7, "lost": ["board b: task t revision 3"],
                               "load_before": 1.0, "load_after": 2.0, "figures": run("redis", "1x1", "actor", 5)["figures"]}]}]
    text = render_markdown(env, 7, summarise([{**records[0]["scenarios"][0], "stack": "redis", "path": "actor"}]),
                           records)
    assert "- redis run 1 actor 1x1 (seed 7):  board b: task t revision 3" in text
    assert "| redis | 1 | actor | 9.0 | 1.5 | 1x1 1.0 → 2.0 | 2.5 |" in text
    assert "### 1 board x 1 writer" in text
