"""results.json → results.md (tables) and latency.png (latency vs offered load)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tables import build_markdown


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
