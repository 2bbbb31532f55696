"""What a gunicorn worker weighs: glibc malloc tuned in the master (gunicorn.conf.py), shared parts compiled before
the fork, and no aiohttp loaded for the Dapr SDK (webapp/dapr_gateway/sdk.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THREADS = 8  # a worker's request threads (gunicorn.conf.py's default GUNICORN_THREADS)

# Loads gunicorn.conf.py (or not), then lets THREADS threads allocate at once and prints glibc's
# malloc_stats(), which names one "Arena" per malloc arena in use.
ARENAS_PROBE = textwrap.dedent(f"""
    import ctypes, runpy, sys, threading
    if sys.argv[1] == "conf":
        runpy.run_path({str(ROOT / "gunicorn.conf.py")!r})
    start = threading.Barrier({THREADS})
    def allocate():
        start.wait()
        blocks = [bytearray(2048) for _ in range(2000)]
    threads = [threading.Thread(target=allocate) for _ in range({THREADS})]
    for t in threads: t.start()
    for t in threads: t.join()
    ctypes.CDLL("libc.so.6").malloc_stats()
""")


def arenas(mode: str, **env: str) -> int:
    out = subprocess.run([sys.executable, "-c", ARENAS_PROBE, mode], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", **env}, cwd=ROOT)
    return sum(line.startswith("Arena ") for line in out.stderr.splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_the_config_caps_malloc_arenas_at_two_and_the_environment_still_wins():
    without, with_conf = arenas("bare"), arenas("conf")
    print(f"\nmalloc arenas after {THREADS} threads allocated: {without} without gunicorn.conf.py, {with_conf} with it")
    assert with_conf <= 2 < without
    assert arenas("conf", MALLOC_ARENA_MAX="4") > 2  # an operator's MALLOC_ARENA_MAX is not overridden
    assert arenas("conf", TASKBOARD_MALLOC_TUNING="0") > 2  # and the tuning can be turned off


def test_the_master_compiles_every_template_and_the_url_map_before_forking(monkeypatch, tmp_path):
    import runpy
    from webapp.app import create_app
    app = create_app({"SECRET_KEY": "test", "TESTING": True})
    monkeypatch.setenv("TASKBOARD_MALLOC_TUNING", "0")  # this test process keeps its malloc as it is
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the config's default is not left behind
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    class Server:  # what gunicorn's arbiter offers the hook: its app, which loads (preloaded) the WSGI callable
        class app:
            @staticmethod
            def wsgi():
                return app
    assert not app.jinja_env.cache
    conf["compile_in_master"](Server)
    names = app.jinja_env.list_templates()
    assert len(names) > 10
    assert {template.name for template in app.jinja_env.cache.values()} == set(names)
    assert not app.url_map._remap  # the matcher is built: a worker's first request does not build its own


def test_the_gateway_loads_the_dapr_sdk_without_aiohttp_and_aiohttp_still_imports_for_real():
    probe = textwrap.dedent("""
        import json, sys
        import webapp.dapr_gateway
        from dapr.clients import DaprClient
        without = "aiohttp" not in sys.modules
        import aiohttp
        print(json.dumps([without, aiohttp.__file__, aiohttp.ClientSession.__module__]))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    without, path, session_module = json.loads(out.stdout.strip().splitlines()[-1])
    assert without
    assert path.endswith("aiohttp/__init__.py") and session_module == "aiohttp.client"


def test_the_sdks_unused_http_client_fails_loudly_if_ever_used():
    probe = textwrap.dedent("""
        import webapp.dapr_gateway
        from dapr.clients.http import client
        try:
            client.aiohttp.ClientTimeout(total=1)
        except RuntimeError as err:
            print(err)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "gRPC only" in out.stdout


def test_the_single_sign_on_libraries_are_loaded_only_by_an_app_with_a_provider():
    probe = textwrap.dedent("""
        import json, sys
        from webapp.app import create_app
        create_app({"SECRET_KEY": "test", "TESTING": True})
        without = sorted({m.split(".")[0] for m in sys.modules} & {"authlib", "joserfc"})
        create_app({"SECRET_KEY": "test", "TESTING": True, "OIDC_ISSUER": "https://id.example/",
                    "OIDC_CLIENT_ID": "taskboard"})
        print(json.dumps([without, sorted({m.split(".")[0] for m in sys.modules} & {"authlib", "joserfc"})]))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    without, with_provider = json.loads(out.stdout.strip().splitlines()[-1])
    assert without == [] and with_provider == ["authlib", "joserfc"]


def collector_thresholds(**env: str) -> list[int]:
    """gc.get_threshold() in a process that loaded gunicorn.conf.py with this environment."""
    probe = f"import gc, runpy; runpy.run_path({str(ROOT / 'gunicorn.conf.py')!r}); print(list(gc.get_threshold()))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "TASKBOARD_METRICS_PORT": "0", **env}, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_collector_keeps_cpythons_thresholds_unless_told():
    # A first threshold of 10,000 kept 10-20 MB more in the largest worker (gunicorn.conf.py says what was measured).
    assert collector_thresholds() == [700, 10, 10]
    assert collector_thresholds(TASKBOARD_GC_THRESHOLD="10000") == [10000, 10, 10]
    assert collector_thresholds(TASKBOARD_GC_THRESHOLD="10000,2,2") == [10000, 2, 2]
