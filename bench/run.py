"""`make bench`: Taskboard's performance, from the sidecar's limit to the full stack.

Starts the stack through scripts/devstack.py (free ports, a temporary run
directory, gunicorn with 2 workers × 8 threads (gunicorn.conf.py), ENV=production, app and API
tokens), plus bench/variants.py under the same gunicorn settings; seeds users
and tasks through the app's own forms; then offers load at constant arrival
rates (open model, bench/loadgen.py) and writes

    bench/results/results.json   every number
    bench/results/results.md     the tables
    bench/results/latency.png    latency vs offered load

Then (unless --no-baseline) a second stack from `git archive <--baseline rev>` (default de1d17d, before
issue 26) runs the app CPU per request, page-create, page-complete, page-list1000 and the counters:
results.md shows after ÷ before.

Run with `make bench` or `.venv/bin/python bench/run.py [--point-seconds 8]`.
See bench/README.md for what each scenario measures and how to read it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machinery import RESULTS, ROOT, Bench, environment  # noqa: E402  (installs requirements-bench.txt when missing)

import baseline  # noqa: E402
import loadgen  # noqa: E402
import report  # noqa: E402
import stacks  # noqa: E402
from benchstack import short_commit  # noqa: E402
from common import T_START, say  # noqa: E402


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    stack = os.environ.get("TASKBOARD_STACK") or "redis"
    if stack != "redis":
        # This benchmark also reads Redis itself (bench/variants.py, Redis commands, stream backlog); on
        # another data tier it runs bench/stacks.py's full-stack scenarios (results/stacks-<stack>.md).
        return stacks.main(["--stacks", stack, *sys.argv[1:]])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point-seconds", type=float, default=6.0, help="length of each load point")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each app")
    parser.add_argument("--budget", type=float, default=840.0,
                        help="seconds: a scenario of the main stack that would end later is skipped")
    parser.add_argument("--baseline", default=baseline.DEFAULT_REV, metavar="REV",
                        help="also run the app CPU per request, page-create, page-complete, page-list1000 and the "
                             "counters on a second stack started from `git archive REV` (default: %(default)s, "
                             "before issue 26)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_const", const="",
                        help="skip the baseline stack")
    parser.add_argument("--rev", default="",
                        help="run the main stack from `git archive REV` instead of the work tree")
    parser.add_argument("--only", default="", help="comma-separated scenario names or prefixes (default: all)")
    parser.add_argument("--keep-run-dir", action="store_true", help="keep the stack's run directory and logs")
    parser.add_argument("--in-place", action="store_true",
                        help="run the work tree itself, not a copy taken at start (edits during the run reach it)")
    parser.add_argument("--out", default=str(RESULTS), help="where results go")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the extra py-spy point of each full-stack scenario")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    load1 = os.getloadavg()[0]
    if load1 > 1.5:
        say(f"warning: the machine is busy before the start (load average {load1:.1f} on {os.cpu_count()} CPUs); "
            "see the 'other procs' CPU column")
    for option, rev in (("--baseline", args.baseline), ("--rev", args.rev)):
        try:
            rev and short_commit(ROOT, rev)  # fail now, not after the main run, when it names no commit
        except subprocess.CalledProcessError:
            parser.error(f"{option} {rev}: no such commit in this clone (shallow? `git fetch --unshallow`), "
                         "or pass --no-baseline")
    bench = Bench(args, rev=args.rev or None)
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    try:
        bench.start()
        bench.results["environment"] = {**environment(bench), "load_average_before_start": round(load1, 2)}
        loadgen.run(bench.main())
    except KeyboardInterrupt:
        bench.failure("interrupted")
        status = 130
    except Exception as err:  # noqa: BLE001
        bench.failure(f"{type(err).__name__}: {err}")
        status = 1
    finally:
        bench.results["runtime_s"] = round(time.monotonic() - T_START, 1)
        bench.stop()
    if args.baseline and status != 130:
        try:
            bench.results["baseline"] = baseline.measure(Bench, args, args.baseline, environment)
        except KeyboardInterrupt:
            bench.failure("interrupted during the baseline")
            status = 130
        failed = bench.results.get("baseline", {}).get("failures", [])
        bench.results["failures"] += [f"baseline: {f}" for f in failed]
    bench.results["runtime_s"] = round(time.monotonic() - T_START, 1)
    (out / "results.json").write_text(json.dumps(bench.results, indent=2))
    try:
        report.write(bench.results, out)
    except Exception as err:  # noqa: BLE001
        say(f"FAILED to write the report: {type(err).__name__}: {err}")
        status = status or 1
    say(f"results in {out}/results.md, results.json, latency.png ({bench.results['runtime_s']:.0f}s in all)")
    if bench.results["warnings"]:
        say(f"{len(bench.results['warnings'])} warning(s): " + "; ".join(bench.results["warnings"][:10]))
    if bench.results["failures"]:
        say(f"{len(bench.results['failures'])} failure(s): " + "; ".join(bench.results["failures"][:10]))
    return status


if __name__ == "__main__":
    sys.exit(main())
